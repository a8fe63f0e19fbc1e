// @causeway/testing: emulators and helpers for bridge specs.
export * from './slack';
