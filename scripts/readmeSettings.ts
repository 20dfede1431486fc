import { settingsTable } from '../src/config.js';

const begin = '<!-- settings: generated from src/config.ts by `npm run -s docs:settings` -->';
const end = '<!-- end of settings -->';

/** README.md with its settings table replaced by the one `src/config.ts` derives. */
export function readmeWithSettings(readme: string): string {
  const from = readme.indexOf(begin);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md lacks the settings markers ${begin} … ${end}`);
  return `${readme.slice(0, from + begin.length)}\n${settingsTable()}\n${readme.slice(to)}`;
}
