// Floor child: the process alone. Ack and exit.
process.send('ack', () => process.disconnect());
