// Runs a TypeScript block of the README (the one after `<!-- marker ... -->`) and returns
// what it printed, so that the README and the code cannot drift apart.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function runReadmeBlock(marker: string): Promise<unknown[][]> {
  const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  const match = new RegExp(`<!-- ${marker}(?:[:\\s][^>]*)?-->\\s*\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!match) throw new Error(`the README has no ${marker} block`);
  const url = new URL(`./.readme-${marker}.tmp.ts`, import.meta.url);
  writeFileSync(fileURLToPath(url), `${match[1]}\nexport {};\n`);
  const log = console.log;
  const lines: unknown[][] = [];
  console.log = (...args: unknown[]) => lines.push(args);
  try {
    await import(`${url.href}?${Date.now()}`);
  } finally {
    console.log = log;
    rmSync(fileURLToPath(url), { force: true });
  }
  return lines;
}
