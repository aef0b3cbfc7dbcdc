// Starts V8's CPU profiler when KVP_CPU_PROFILE_DIR is set; imported by bench/profiled-main.ts before the
// plugin's modules. Writes DIR/<pid>.cpuprofile when the process exits.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env['KVP_CPU_PROFILE_DIR'];
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  // 1 ms between samples (V8's default): enough for calls of a few milliseconds.
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  // A same-thread session answers synchronously, so this works inside the 'exit' event.
  process.on('exit', () => {
    session.post('Profiler.stop', (err, result) => {
      if (err === null) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
