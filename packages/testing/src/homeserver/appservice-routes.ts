// Client-facing endpoints that involve an appservice round trip: ping and the
// third-party protocol lookups (forwarded to the AS that declared the protocol).
import { RouteDef, clientRoute } from './context';
import type { Core } from './core';
import { forbidden } from './errors';

export function appserviceRoutes(hs: Core): RouteDef[] {
  return [
    clientRoute('POST', '/appservice/{appserviceId}/ping', {}, async (ctx) => {
      const as = ctx.requester.appservice;
      if (!as || as.id !== ctx.params.appserviceId) throw forbidden('Application service ID does not match the access token');
      const body: Record<string, unknown> = {};
      const txn = ctx.body.transaction_id;
      if (txn !== undefined) body.transaction_id = txn;
      return hs.queries.ping(as, body);
    }),
    clientRoute('GET', '/thirdparty/protocols', {}, () => hs.queries.protocols()),
    clientRoute('GET', '/thirdparty/protocol/{protocol}', {}, (ctx) => hs.queries.protocol(ctx.params.protocol)),
    clientRoute('GET', '/thirdparty/location/{protocol}', {}, (ctx) => hs.queries.lookup('location', ctx.params.protocol, ctx.query)),
    clientRoute('GET', '/thirdparty/user/{protocol}', {}, (ctx) => hs.queries.lookup('user', ctx.params.protocol, ctx.query)),
    clientRoute('GET', '/thirdparty/location', {}, (ctx) => hs.queries.lookup('location', undefined, ctx.query)),
    clientRoute('GET', '/thirdparty/user', {}, (ctx) => hs.queries.lookup('user', undefined, ctx.query)),
  ];
}
