/**
 * Every error code the product can report, with the HTTP status it maps to, a message template
 * (`{name}` placeholders) and a hint that tells the developer what to do. Codes are a public
 * contract: the CLI, the Admin and scripts match on them. Add, never rename.
 */
export interface ErrorCodeSpec {
  status: number;
  message: string;
  hint: string;
}

export const spec = (status: number, message: string, hint: string): ErrorCodeSpec => ({
  status,
  message,
  hint,
});
