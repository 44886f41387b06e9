import type Configure from '@adonisjs/core/commands/configure'

/**
 * `node ace configure rownd-adonis`. (Implemented by the configure work.)
 */
export async function configure(_command: Configure) {}
