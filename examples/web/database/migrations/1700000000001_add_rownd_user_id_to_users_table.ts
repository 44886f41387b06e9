import { BaseSchema } from '@adonisjs/lucid/schema'

export default class extends BaseSchema {
  protected tableName = 'users'

  async up() {
    this.schema.alterTable(this.tableName, (table) => {
      // The Rownd user id: one row per Rownd user, null until first sign-in
      table.string('rownd_user_id', 255).nullable().unique()
    })
  }

  async down() {
    this.schema.alterTable(this.tableName, (table) => {
      // The unique index goes first: SQLite cannot drop an indexed column
      table.dropUnique(['rownd_user_id'])
      table.dropColumn('rownd_user_id')
    })
  }
}
