export * from './connection.parse.js';
export * from './connection.service.js';
export * from './connection.cluster.js';
export * from './connection.types.js';
