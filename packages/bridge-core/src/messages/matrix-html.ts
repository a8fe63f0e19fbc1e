/**
 * The HTML every remote message reaches Matrix with. Connectors turn their network's markup
 * (mIRC codes, Slack mrkdwn and blocks, Gitter markdown) into HTML; the core passes the result
 * through this allow-list before it becomes `formatted_body`, so a bug in one converter cannot
 * let a remote user inject markup into Matrix clients. The list is the HTML subset the Matrix
 * spec recommends clients render (m.room.message, "HTML" in the client-server API).
 */
import sanitizeHtml from 'sanitize-html';

const ALLOWED: sanitizeHtml.IOptions = {
  allowedTags: [
    'font',
    'del',
    'h1',
    'h2',
    'h3',
    'h4',
    'h5',
    'h6',
    'blockquote',
    'p',
    'a',
    'ul',
    'ol',
    'sup',
    'sub',
    'li',
    'b',
    'i',
    'u',
    'strong',
    'em',
    's',
    'strike',
    'code',
    'hr',
    'br',
    'div',
    'table',
    'thead',
    'tbody',
    'tr',
    'th',
    'td',
    'caption',
    'pre',
    'span',
    'img',
    'details',
    'summary',
  ],
  allowedAttributes: {
    font: ['color', 'data-mx-color', 'data-mx-bg-color'],
    span: ['data-mx-color', 'data-mx-bg-color', 'data-mx-spoiler', 'data-mx-maths'],
    div: ['data-mx-maths'],
    a: ['href', 'target'],
    img: ['src', 'alt', 'title', 'width', 'height', 'data-mx-emoticon'],
    ol: ['start'],
    code: ['class'],
  },
  allowedSchemes: ['http', 'https', 'ftp', 'mailto', 'magnet', 'matrix'],
  // Images only from the homeserver's media repository: an http(s) image would leak every reader's IP.
  allowedSchemesByTag: { img: ['mxc'] },
  allowedClasses: { code: [/^language-[\w-]+$/] },
  allowProtocolRelative: false,
  // What is not allowed is dropped with its content only for elements whose content is not text.
  nonTextTags: ['style', 'script', 'textarea', 'option', 'noscript', 'mx-reply', 'title', 'head'],
  disallowedTagsMode: 'discard',
  transformTags: {
    // A colour must be a plain hex colour: anything else could smuggle CSS.
    font: (tagName, attribs) => ({ tagName, attribs: hexColours(attribs) }),
    span: (tagName, attribs) => ({ tagName, attribs: hexColours(attribs) }),
    // Relative URLs pass the scheme check; an image that is not on the media repository has no source.
    img: (tagName, attribs) => {
      const { src, ...rest } = attribs;
      return { tagName, attribs: src?.startsWith('mxc://') ? { src, ...rest } : rest };
    },
  },
};

const HEX = /^#[0-9a-fA-F]{6}$/;
const COLOUR_ATTRS = new Set(['color', 'data-mx-color', 'data-mx-bg-color']);

function hexColours(attribs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(attribs)) if (!COLOUR_ATTRS.has(k) || HEX.test(v)) out[k] = v;
  return out;
}

export function sanitizeMatrixHtml(html: string): string {
  return sanitizeHtml(html, ALLOWED);
}

/** Text → HTML text: the five characters that could open markup or end an attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
