export * from './testing/arbitraries';
