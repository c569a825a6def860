/**
 * Completes the OpenAPI document (documentation only: the transform of @fastify/swagger, so the
 * response serializers of the routes are untouched):
 * - every route documents the error body {code, message, hint, details?} (ErrorBodySchema of
 *   @powerx/protocol) for 4xx and 5xx answers;
 * - a DELETE route without a response schema answers 204 No Content (they all do: they
 *   `reply.status(204).send()`), not the "200 Default Response" swagger would invent; one that
 *   answers with a body declares its response schema.
 */
import type { FastifySchema } from 'fastify';
import { ErrorBodySchema } from '@powerx/protocol';

interface TransformInput {
  schema?: FastifySchema;
  url: string;
  route: { method: string | string[] };
}

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: ErrorBodySchema } },
});

export function documentResponses({ schema, url, route }: TransformInput): {
  schema: FastifySchema;
  url: string;
} {
  if (schema && (schema as { hide?: boolean }).hide) return { schema, url };
  schema ??= {};
  const methods = ([] as string[]).concat(route.method);
  const response: Record<string, unknown> = {
    ...((schema.response as Record<string, unknown> | undefined) ?? {}),
  };
  if (methods.includes('DELETE') && !Object.keys(response).some((status) => status.startsWith('2')))
    response['204'] = { type: 'null', description: 'No content' };
  response['4xx'] ??= errorResponse(
    'Refused: {code, message, hint, details?}; the code is stable (see @powerx/protocol error-codes.ts)',
  );
  response['5xx'] ??= errorResponse('Failed: {code, message, hint, details?}');
  return { schema: { ...schema, response }, url };
}
