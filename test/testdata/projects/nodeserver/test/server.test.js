'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { createServer } = require('../src/server.js');

let server;
let base;

before(async () => {
  server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => new Promise((resolve) => server.close(resolve)));

test('starts empty', async () => {
  const res = await fetch(`${base}/todos`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), []);
});

test('creates a to-do', async () => {
  const res = await fetch(`${base}/todos`, { method: 'POST', body: JSON.stringify({ title: 'write tests' }) });
  assert.equal(res.status, 201);
  assert.deepEqual(await res.json(), { id: 1, title: 'write tests', done: false });
});

test('refuses a to-do without a title', async () => {
  const res = await fetch(`${base}/todos`, { method: 'POST', body: '{}' });
  assert.equal(res.status, 422);
});

test('unknown paths are 404', async () => {
  const res = await fetch(`${base}/nothing`);
  assert.equal(res.status, 404);
});
