// Loaded into the Heroku CLI with NODE_OPTIONS=--require: refuses, and records in
// $APPOPS_GUARD_LOG, every DNS lookup or connection to anything but loopback, so the
// CLI tests prove the CLI talks to the emulator only.
'use strict';
const dns = require('node:dns');
const fs = require('node:fs');
const net = require('node:net');

const logFile = process.env.APPOPS_GUARD_LOG;
const record = (what) => { if (logFile) fs.appendFileSync(logFile, `${what}\n`); };
const isLoopback = (host) => host === undefined || host === null || host === '' || host === 'localhost'
  || /^127\./.test(host) || host === '::1' || host === '[::1]';

const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  let options = args[0];
  if (Array.isArray(options)) options = options[0];
  let host;
  let port;
  if (options !== null && typeof options === 'object') {
    if (options.path) return originalConnect.apply(this, args);
    ({ host, port } = options);
  } else {
    port = options;
    host = typeof args[1] === 'string' ? args[1] : undefined;
  }
  if (!isLoopback(host)) {
    record(`connect ${host}:${port}`);
    const error = new Error(`lab guard: refused connection to ${host}:${port}`);
    error.code = 'ECONNREFUSED';
    process.nextTick(() => this.destroy(error));
    return this;
  }
  return originalConnect.apply(this, args);
};

const refuse = (hostname) => {
  record(`dns ${hostname}`);
  const error = new Error(`lab guard: refused lookup of ${hostname}`);
  error.code = 'ENOTFOUND';
  return error;
};
const originalLookup = dns.lookup;
dns.lookup = function guardedLookup(hostname, options, callback) {
  const done = typeof options === 'function' ? options : callback;
  if (!isLoopback(hostname)) {
    process.nextTick(() => done(refuse(hostname)));
    return {};
  }
  return originalLookup.call(this, hostname, options, callback);
};
const originalPromiseLookup = dns.promises.lookup;
dns.promises.lookup = function guardedPromiseLookup(hostname, ...rest) {
  if (!isLoopback(hostname)) return Promise.reject(refuse(hostname));
  return originalPromiseLookup.call(this, hostname, ...rest);
};
