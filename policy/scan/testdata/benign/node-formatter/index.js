#!/usr/bin/env node
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { formatTable } = require('./lib/table');

function formatJSON(text) {
  return JSON.stringify(JSON.parse(text), null, 2) + '\n';
}

function formatMarkdown(text, width) {
  const lines = text.split('\n');
  const out = [];
  for (let i = 0; i < lines.length; ) {
    if (lines[i].trim().startsWith('|')) {
      const block = [];
      while (i < lines.length && lines[i].trim().startsWith('|')) block.push(lines[i++]);
      out.push(...formatTable(block, width));
    } else {
      out.push(lines[i++]);
    }
  }
  return out.join('\n');
}

function main(argv) {
  const check = argv.includes('--check');
  const w = argv.indexOf('--width');
  const width = w >= 0 ? Number(argv[w + 1]) : 0;
  const files = argv.filter((a, i) => !a.startsWith('--') && !(w >= 0 && i === w + 1));
  let changed = 0;
  for (const file of files) {
    const target = path.resolve(file);
    const before = fs.readFileSync(target, 'utf8');
    const after = file.endsWith('.json') ? formatJSON(before) : formatMarkdown(before, width);
    if (after === before) continue;
    changed++;
    if (check) {
      console.log(`would reformat ${file}`);
    } else {
      fs.writeFileSync(target, after);
      console.log(`reformatted ${file}`);
    }
  }
  return check && changed > 0 ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
