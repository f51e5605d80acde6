// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

/**
 * The layer table of docs/architecture.md, as import zones: each folder of src/ may import
 * only the folders listed for it (and itself). Change the table and this list together.
 */
const LAYERS = {
  domain: [],
  kafka: ['domain'],
  codec: ['domain', 'kafka'],
  pipeline: ['domain'],
  observability: ['domain'],
  log: ['domain', 'kafka', 'codec', 'observability'],
  runtime: ['domain', 'kafka', 'codec', 'pipeline', 'observability', 'log'],
  control: ['domain', 'kafka', 'codec', 'pipeline', 'observability', 'log'],
  client: ['domain', 'kafka', 'codec', 'pipeline', 'observability', 'log'],
  node: [
    'domain',
    'kafka',
    'codec',
    'pipeline',
    'observability',
    'log',
    'runtime',
    'control',
    'client',
  ],
  console: ['domain', 'observability', 'client'],
  cli: ['domain', 'pipeline', 'observability', 'client', 'node', 'infra', 'console'],
  infra: ['domain', 'kafka', 'codec'],
  demo: ['domain', 'kafka', 'pipeline', 'observability', 'node', 'infra', 'console'],
};
const FOLDERS = Object.keys(LAYERS);
const layerZones = Object.entries(LAYERS).map(([layer, allowed]) => ({
  target: `./src/${layer}`,
  from: FOLDERS.filter((f) => f !== layer && !allowed.includes(f)).map((f) => `./src/${f}`),
  message: `src/${layer} may import only ${allowed.length > 0 ? allowed.join(', ') : 'nothing outside itself'} (docs/architecture.md, "Layers").`,
}));
/** Only the composition root, the demo, infra and tests reach an implementation of the port. */
const portZones = [
  {
    target: ['./src/!(node|demo|infra|kafka)/**', './src/kafka/*.ts'],
    from: ['./src/kafka/kafkajs', './src/kafka/memory'],
    message: 'Use the Kafka port (src/kafka/port.ts); src/node/ picks the implementation.',
  },
];

export default tseslint.config(
  { ignores: ['dist/**', 'coverage/**', 'node_modules/**', '.sluice/**', 'scratch/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    // Sources import each other as `./x.js` (NodeNext); the files are `./x.ts`.
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensionAlias: { '.js': ['.ts', '.js'] } })],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': ['error', { zones: [...layerZones, ...portZones] }],
      'no-console': 'error',
      // kafkajs hands eachBatch helpers (heartbeat, resolveOffset) as closures meant to be destructured.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // Kafka sits behind Sluice's own port (src/kafka/port.ts): only the kafkajs adapter may
    // import kafkajs, its types included. Tests may use it as an independent client.
    files: ['src/**/*.ts'],
    ignores: ['src/kafka/kafkajs/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'kafkajs',
              message:
                'Use the Kafka port (src/kafka/port.ts); only src/kafka/kafkajs/ may import kafkajs.',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests read and write through kafkajs as an independent client, but Sluice's private copy
    // (test/support/raw-kafka.ts): kafkajs as published lets aborted records through to
    // read_committed readers (src/kafka/kafkajs/loader.ts).
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'kafkajs',
              message:
                "Use rawKafka() from test/support/raw-kafka.ts for kafkajs values; 'import type' is fine.",
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    // The CLI's own output, the demo, benchmarks and the failover timing report print on purpose.
    files: [
      'src/cli/**',
      'src/demo/**',
      'test/bench/**',
      'test/control/failover.int.test.ts',
      'test/runtime/crash.crash.test.ts',
    ],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['eslint.config.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
