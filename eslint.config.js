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
    ],
  },
  {
    // Tests read a response and assert on one field of it in one line
    files: ['tests/**/*.ts', 'bench/**/*.ts'],
    rules: { '@unicorn/no-await-expression-member': 'off' },
  }
)
