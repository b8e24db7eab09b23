'use strict';
const http = require('node:http');

// createServer returns an HTTP server for a to-do list kept in memory.
function createServer() {
  const todos = [];
  return http.createServer((req, res) => {
    const send = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/todos' && req.method === 'GET') return send(200, todos);
    if (req.url === '/todos' && req.method === 'POST') {
      let data = '';
      req.on('data', (c) => { data += c; });
      req.on('end', () => {
        let item;
        try { item = JSON.parse(data); } catch { return send(400, { error: 'invalid JSON' }); }
        if (typeof item.title !== 'string' || item.title === '') return send(422, { error: 'title required' });
        const todo = { id: todos.length + 1, title: item.title, done: false };
        todos.push(todo);
        send(201, todo);
      });
      return undefined;
    }
    return send(404, { error: 'not found' });
  });
}

module.exports = { createServer };

if (require.main === module) {
  const port = Number(process.env.PORT || 3000);
  createServer().listen(port, '127.0.0.1', () => console.log(`listening on ${port}`));
}
