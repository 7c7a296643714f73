export * from './connection.parse.js';
export * from './connection.service.js';
