// HTTP transport: node:http in front of the pipeline, plus the loopback-only control listener.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { SandboxClock } from './clock.ts';
import { CODES, Code } from '../lib/spec/index.ts';
import { JSON_CONTENT_TYPE, type BodyRead, type Pipeline } from './pipeline.ts';

// Past this many bytes an oversized body is no longer drained: answer and close.
const DRAIN_LIMIT_BYTES = 64 * 1_048_576;

function readBody(req: IncomingMessage, limit: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: BodyRead) => {
      if (done) return;
      done = true;
      resolve(result);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else {
        // Counted as read; keep draining so the client can read the answer, up to a point.
        chunks.length = 0;
        if (size > DRAIN_LIMIT_BYTES) {
          req.pause();
          finish({ ok: false, reason: 'too-large' });
        }
      }
    });
    req.on('end', () => {
      if (size > limit) finish({ ok: false, reason: 'too-large' });
      else finish({ ok: true, bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
    });
    req.on('error', () => finish({ ok: false, reason: 'aborted' }));
    req.on('close', () => finish({ ok: false, reason: 'aborted' }));
  });
}

export function createPublicServer(pipeline: Pipeline): Server {
  const server = createServer({ keepAlive: true, requestTimeout: 30_000 }, (req: IncomingMessage, res: ServerResponse) => {
    pipeline
      .handle({ method: req.method ?? '', target: req.url ?? '', rawHeaders: req.rawHeaders, readBody: (limit) => readBody(req, limit) })
      .then((answer) => {
        if (res.destroyed) return;
        const headers: Record<string, string | number> = {
          'Content-Type': answer.contentType,
          'Content-Length': Buffer.byteLength(answer.body),
        };
        if (answer.close) headers.Connection = 'close';
        res.writeHead(answer.status, headers);
        res.end(answer.body);
        if (answer.close) res.on('finish', () => req.socket.destroySoon?.());
      })
      .catch(() => {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { 'Content-Type': JSON_CONTENT_TYPE });
          res.end(JSON.stringify({ code: Code.INTERNAL_ERROR, msg: CODES[Code.INTERNAL_ERROR].meaning, data: null }));
        } else res.destroy();
      });
  });
  server.keepAliveTimeout = 10_000;
  // Malformed HTTP never reaches the pipeline: answer it with a Code.ILLEGAL_REQUEST envelope, not Node's plain text.
  server.on('clientError', (_error: Error, socket: Socket) => {
    if (!socket.writable) return socket.destroy();
    const body = JSON.stringify({ code: Code.ILLEGAL_REQUEST, msg: `${CODES[Code.ILLEGAL_REQUEST].meaning}: malformed HTTP request`, data: null });
    socket.end(
      `HTTP/1.1 400 Bad Request\r\nContent-Type: ${JSON_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  return server;
}

export interface ControlTarget {
  clock: SandboxClock;
  reset(): void;
}

function clockState(clock: SandboxClock) {
  return { now: new Date(clock.now()).toISOString(), frozen: clock.isFrozen() };
}

/**
 * Test control, bound to 127.0.0.1 only: GET /clock; POST /clock {set}|{offsetMs}|{freeze}|{unfreeze};
 * POST /reset. Kept off the public listener so the public surface stays the contract's.
 */
export function createControlServer(target: ControlTarget): Server {
  return createServer((req, res) => {
    const send = (status: number, value: unknown) => {
      const body = JSON.stringify(value);
      res.writeHead(status, { 'Content-Type': JSON_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 65_536) chunks.push(c);
    });
    req.on('end', () => {
      try {
        const path = (req.url ?? '').split('?')[0];
        if (path === '/clock' && req.method === 'GET') return send(200, clockState(target.clock));
        if (path === '/reset' && req.method === 'POST') {
          target.reset();
          return send(200, clockState(target.clock));
        }
        if (path === '/clock' && req.method === 'POST') {
          let body: Record<string, unknown>;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
          } catch {
            return send(400, { error: 'body must be JSON' });
          }
          if (body === null || typeof body !== 'object') return send(400, { error: 'body must be a JSON object' });
          if (typeof body.set === 'string') {
            const ms = Date.parse(body.set);
            if (Number.isNaN(ms)) return send(400, { error: `cannot parse "set": ${body.set}` });
            target.clock.set(ms);
          } else if (typeof body.offsetMs === 'number' && Number.isFinite(body.offsetMs)) target.clock.offset(body.offsetMs);
          else if (body.freeze === true) target.clock.freeze();
          else if (body.unfreeze === true) target.clock.unfreeze();
          else return send(400, { error: 'expected {"set":"<iso>"} | {"offsetMs":n} | {"freeze":true} | {"unfreeze":true}' });
          return send(200, clockState(target.clock));
        }
        return send(404, { error: 'control routes: GET /clock, POST /clock, POST /reset' });
      } catch {
        return send(500, { error: 'control failure' });
      }
    });
  });
}
