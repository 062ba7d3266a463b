// Build-time stand-in for the `debug` package in the browser bundle: warnings and errors reach the console, debug chatter is dropped.
export default function createDebug(namespace) {
  const loud = /:(WARN|ERROR)\b/.test(namespace);
  const logger = (...args) => {
    if (loud) logger.log(`${namespace}`, ...args);
  };
  logger.log = console.log.bind(console);
  logger.enabled = loud;
  logger.namespace = namespace;
  logger.extend = (sub) => createDebug(`${namespace}:${sub}`);
  return logger;
}
