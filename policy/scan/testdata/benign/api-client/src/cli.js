#!/usr/bin/env node
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const config = require('../config.json');

const cacheDir = process.env.SKILLRUN_CACHE || path.join(process.env.TMPDIR || '/tmp', 'api-client');

async function request(endpoint, params = {}) {
  const token = process.env.EXAMPLE_API_KEY;
  if (!token) throw new Error('EXAMPLE_API_KEY is not set; ask the developer to grant it');
  const url = new URL(config.base_url + endpoint);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  url.searchParams.set('sort', config.sort_key);
  for (let attempt = 0; attempt < config.retry.attempts; attempt++) {
    const res = await fetch(url, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } });
    if (res.status === 429 || res.status >= 500) {
      await new Promise((r) => setTimeout(r, config.retry.backoff_ms * 2 ** attempt));
      continue;
    }
    if (!res.ok) throw new Error(`${res.status} ${res.statusText} for ${endpoint}`);
    return res.json();
  }
  throw new Error(`gave up on ${endpoint} after ${config.retry.attempts} attempts`);
}

function cached(key, maxAgeMs, load) {
  const file = path.join(cacheDir, key.replace(/[^\w.-]/g, '_') + '.json');
  try {
    const st = fs.statSync(file);
    if (Date.now() - st.mtimeMs < maxAgeMs) return Promise.resolve(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch {}
  return load().then((data) => {
    fs.mkdirSync(cacheDir, { recursive: true });
    fs.writeFileSync(file, JSON.stringify(data));
    return data;
  });
}

async function main([cmd, ...args]) {
  if (cmd === 'issues') {
    const params = {};
    for (let i = 0; i < args.length; i += 2) params[args[i].replace(/^--/, '')] = args[i + 1];
    const issues = await cached(config.cache_key + JSON.stringify(params), 5 * 60 * 1000, () => request('/issues', params));
    for (const it of issues) console.log(`#${it.number} ${it.title} [${(it.labels || []).join(', ')}]`);
  } else if (cmd === 'milestone') {
    const m = await request(`/milestones/${encodeURIComponent(args[0])}`);
    console.log(`${m.title}: ${m.closed}/${m.closed + m.open} closed, due ${m.due_on || 'n/a'}`);
  } else {
    console.error('usage: cli.js issues [--state S] [--label L] | milestone NAME');
    process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((e) => {
  console.error(`api-client: ${e.message}`);
  process.exitCode = 1;
});
