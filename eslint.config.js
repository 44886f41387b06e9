import { configPkg } from '@adonisjs/eslint-config'

export default configPkg({
  ignores: [
    'build/**',
    'tmp/**',
    'examples/**/build/**',
    'examples/**/tmp/**',
    'tests/**/tmp/**',
    'bench/results/**',
  ],
})
