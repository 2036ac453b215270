// Copies an alipay-mock binary to bin/<platform>-<arch>/ of this package, where
// resolveBinary() finds it, before `npm pack`. Run once per platform to pack several.
//   node scripts/stage-binary.mjs PATH [PLATFORM-ARCH]   (default: this machine's)
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [source, target = `${process.platform}-${process.arch}`] = process.argv.slice(2);
if (!source) {
  console.error('usage: node scripts/stage-binary.mjs PATH_TO_ALIPAY_MOCK [PLATFORM-ARCH]');
  process.exit(2);
}
const dir = fileURLToPath(new URL(`../bin/${target}/`, import.meta.url));
const exe = target.startsWith('win32-') ? 'alipay-mock.exe' : 'alipay-mock';
mkdirSync(dir, { recursive: true });
copyFileSync(source, dir + exe);
chmodSync(dir + exe, 0o755);
console.error(`staged ${source} as bin/${target}/${exe}`);
