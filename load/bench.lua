-- wrk script for `npm run bench:load` (load/bench.ts): one fixed POST, the reference for raw
-- throughput. The sandbox runs with the fault `accept-any-signature`, so the fixed signature passes;
-- the nonce is a per-thread counter so no request is a replay and each one is processed fully, as
-- in the autocannon runs. No signing happens here. Settings come from the environment.
local path = os.getenv("BENCH_PATH")
local body = os.getenv("BENCH_BODY")
local stamp = os.getenv("BENCH_TIMESTAMP")
local access_key = os.getenv("BENCH_ACCESS_KEY")
local signature = os.getenv("BENCH_SIGNATURE")
local prefix = os.getenv("BENCH_NONCE_PREFIX")

local next_thread = 0
function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
end

local counter = 0
function request()
  counter = counter + 1
  local nonce = string.format("%s%02x%012x", prefix, thread_id or 0, counter)
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["X-Timestamp"] = stamp,
    ["X-Nonce"] = nonce,
    ["X-AccessKey"] = access_key,
    ["X-Signature"] = signature,
  }, body)
end
