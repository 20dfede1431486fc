import { readFileSync, writeFileSync } from 'node:fs';
import { readmeWithSettings } from './readmeSettings.js';

const readme = new URL('../README.md', import.meta.url);
writeFileSync(readme, readmeWithSettings(readFileSync(readme, 'utf8')));
