module.exports = {
  displayName: 'agent-worker',
  preset: '../../jest.preset.js',
  testEnvironment: 'node',
  testTimeout: 60_000,
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }],
  },
  moduleFileExtensions: ['ts', 'js', 'html'],
  // The tests talk to a real Redis (and the worker's to processes): generous, not Jest's 5 s.
  coverageDirectory: '../../coverage/apps/agent-worker',
};
