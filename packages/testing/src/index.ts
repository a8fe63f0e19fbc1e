export * from './gitter';
