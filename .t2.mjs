import { spawn } from 'node:child_process';
for (const cmd of [['node_modules/.bin/tsx', ['sandbox/main.ts', '--port', '0']], [process.execPath, ['--import','tsx','sandbox/main.ts', '--port', '0']], ['npm', ['run','-s','sandbox','--','--port','0']]]) {
  await new Promise((done) => {
    const child = spawn(cmd[0], cmd[1], { cwd: '/work/main' });
    child.stdout.once('data', (d) => { setTimeout(() => child.kill('SIGTERM'), 100); });
    child.on('exit', (code, sig) => { console.log(cmd[0].slice(-8), 'exit', code, sig); done(); });
  });
}
