// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';

export default tseslint.config(
  { ignores: ['dist/**', 'coverage/**', 'node_modules/**', '.sluice/**', 'scratch/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
      'no-console': 'error',
      // kafkajs hands eachBatch helpers (heartbeat, resolveOffset) as closures meant to be destructured.
      '@typescript-eslint/unbound-method': 'off',
      // kafkajs's own read_committed filter leaks aborted records; src/kafka/kafkajs.ts loads it fixed.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'kafkajs',
              message:
                "Import kafkajs values from src/kafka/kafkajs.ts (read_committed fixed); 'import type' is fine.",
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    // The fixed loader itself, and the infra probe, which only asks for metadata and must not
    // depend on the kafka layer (DESIGN: infra imports nothing of the layers above).
    files: ['src/kafka/kafkajs.ts', 'src/infra/probe.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': 'off' },
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
