import { configPkg } from '@adonisjs/eslint-config'

export default configPkg(
  {
    ignores: [
      'build/**',
      'tmp/**',
      'screenshots/**',
      'examples/**/build/**',
      'examples/**/tmp/**',
      'tests/**/tmp/**',
      'bench/results/**',
      'bench/build/**',
      '**/.adonisjs/**',
      // Generated in the starter-kit fixtures: by `node ace migration:run`, by `vite build`
      'tests/fixtures/kits/*/database/schema.ts',
      'tests/fixtures/kits/*/public/assets/**',
      // The AdonisJS 6 kit as its generators write it (no trailing commas, value imports)
      'tests/fixtures/adonis6/**',
    ],
  },
  {
    // Tests read a response and assert on one field of it in one line
    files: ['tests/**/*.ts', 'bench/**/*.ts'],
    rules: { '@unicorn/no-await-expression-member': 'off' },
  }
)
