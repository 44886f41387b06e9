/**
 * Tests read JSON bodies they assert on field by field: type `json()` as
 * `any` there instead of `unknown`.
 */
declare global {
  interface Response {
    json(): Promise<any>
  }
}

export {}
