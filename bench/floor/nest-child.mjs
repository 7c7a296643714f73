// Floor child: boot a Nest standalone application context of an empty module (no decorators syntax:
// the Module decorator is applied by hand), ack, close, exit.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

class FloorModule {}
Module({})(FloorModule);

const app = await NestFactory.createApplicationContext(FloorModule, { logger: false });
await app.close();
process.send('ack', () => process.disconnect());
