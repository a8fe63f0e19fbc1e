// Content repository routes: uploads (plain and async create+PUT), the upload limit,
// authenticated downloads (spec v1.11) and the frozen legacy unauthenticated routes.
import { Ctx, RawReply, RouteDef, clientRoute, fullRoute } from './context';
import type { Core } from './core';
import { MatrixError, forbidden, notFound } from './errors';
import type { MediaItem } from './media';

function mxc(item: MediaItem): string {
  return `mxc://${item.serverName}/${item.mediaId}`;
}

function contentTypeOf(ctx: Ctx): string {
  const ct = ctx.headers['content-type'];
  return typeof ct === 'string' && ct ? ct : 'application/octet-stream';
}

function serve(hs: Core, ctx: Ctx, legacy: boolean): RawReply {
  const item = hs.media.get(ctx.params.serverName, ctx.params.mediaId);
  if (!item) throw notFound('Not found');
  if (!item.data) throw new MatrixError(504, 'M_NOT_YET_UPLOADED', 'Media has not been uploaded yet');
  if (legacy && hs.media.frozenAt !== undefined && item.createdAt >= hs.media.frozenAt) {
    // Synapse's enable_authenticated_media: new media is invisible to the old routes.
    throw notFound('Not found');
  }
  const name = ctx.params.fileName ?? item.filename;
  const headers: Record<string, string> = {
    'Cache-Control': 'public,max-age=86400,s-maxage=86400',
    'Content-Security-Policy': "sandbox; default-src 'none';",
  };
  const inline = /^(image\/(png|jpeg|gif|webp)|text\/plain|video\/|audio\/)/.test(item.contentType);
  headers['Content-Disposition'] = `${inline ? 'inline' : 'attachment'}${name ? `; filename*=utf-8''${encodeURIComponent(name)}` : ''}`;
  return new RawReply(item.data, item.contentType, headers);
}

export function mediaRoutes(hs: Core): RouteDef[] {
  const checkSize = (ctx: Ctx) => {
    if (ctx.raw.length > hs.media.maxUploadBytes) {
      throw new MatrixError(413, 'M_TOO_LARGE', `Upload request body is too large (limit ${hs.media.maxUploadBytes})`);
    }
  };
  return [
    fullRoute(
      'POST',
      ['/_matrix/media/v3/upload', '/_matrix/media/r0/upload', '/_matrix/media/v1/upload'],
      { body: 'raw', rateLimited: true },
      (ctx) => {
        checkSize(ctx);
        const item = hs.media.create(ctx.userId);
        hs.media.store(item, ctx.raw, contentTypeOf(ctx), ctx.query.get('filename') ?? undefined);
        return { content_uri: mxc(item) };
      },
    ),
    fullRoute('POST', ['/_matrix/media/v1/create'], { body: 'none', rateLimited: true }, (ctx) => {
      const item = hs.media.create(ctx.userId);
      return { content_uri: mxc(item), unused_expires_at: item.createdAt + 24 * 3600_000 };
    }),
    fullRoute(
      'PUT',
      ['/_matrix/media/v3/upload/{serverName}/{mediaId}', '/_matrix/media/r0/upload/{serverName}/{mediaId}'],
      { body: 'raw' },
      (ctx) => {
        checkSize(ctx);
        const item = hs.media.get(ctx.params.serverName, ctx.params.mediaId);
        if (!item) throw notFound('Unknown media ID');
        if (item.uploader !== ctx.userId) throw forbidden('You may not upload to this media ID');
        if (item.data) throw new MatrixError(409, 'M_CANNOT_OVERWRITE_MEDIA', 'Media ID already has content');
        hs.media.store(item, ctx.raw, contentTypeOf(ctx), ctx.query.get('filename') ?? undefined);
        return {};
      },
    ),
    clientRoute('GET', '/media/config', {}, () => ({ 'm.upload.size': hs.media.maxUploadBytes })),
    fullRoute('GET', ['/_matrix/media/v3/config', '/_matrix/media/r0/config'], {}, () => ({ 'm.upload.size': hs.media.maxUploadBytes })),
    clientRoute('GET', ['/media/download/{serverName}/{mediaId}', '/media/download/{serverName}/{mediaId}/{fileName}'], {}, (ctx) =>
      serve(hs, ctx, false),
    ),
    clientRoute('GET', '/media/thumbnail/{serverName}/{mediaId}', {}, (ctx) => serve(hs, ctx, false)),
    fullRoute(
      'GET',
      [
        '/_matrix/media/v3/download/{serverName}/{mediaId}',
        '/_matrix/media/v3/download/{serverName}/{mediaId}/{fileName}',
        '/_matrix/media/r0/download/{serverName}/{mediaId}',
        '/_matrix/media/r0/download/{serverName}/{mediaId}/{fileName}',
      ],
      { auth: 'none' },
      (ctx) => serve(hs, ctx, true),
    ),
    fullRoute(
      'GET',
      ['/_matrix/media/v3/thumbnail/{serverName}/{mediaId}', '/_matrix/media/r0/thumbnail/{serverName}/{mediaId}'],
      { auth: 'none' },
      (ctx) => serve(hs, ctx, true),
    ),
  ];
}
