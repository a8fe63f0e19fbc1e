// File metadata Slack derives from a name and bytes: mimetype, `filetype`, `pretty_type`, and
// the pixel size of PNG, GIF and JPEG images (`original_w`/`original_h`).

interface FileType {
  mimetype: string;
  filetype: string;
  pretty: string;
}

const BY_EXTENSION: Record<string, FileType> = {
  png: { mimetype: 'image/png', filetype: 'png', pretty: 'PNG' },
  jpg: { mimetype: 'image/jpeg', filetype: 'jpg', pretty: 'JPEG' },
  jpeg: { mimetype: 'image/jpeg', filetype: 'jpg', pretty: 'JPEG' },
  gif: { mimetype: 'image/gif', filetype: 'gif', pretty: 'GIF' },
  webp: { mimetype: 'image/webp', filetype: 'webp', pretty: 'WebP' },
  svg: { mimetype: 'image/svg+xml', filetype: 'svg', pretty: 'SVG' },
  txt: { mimetype: 'text/plain', filetype: 'text', pretty: 'Plain Text' },
  md: { mimetype: 'text/plain', filetype: 'markdown', pretty: 'Markdown (raw)' },
  csv: { mimetype: 'text/csv', filetype: 'csv', pretty: 'CSV' },
  json: { mimetype: 'application/json', filetype: 'json', pretty: 'JSON' },
  html: { mimetype: 'text/html', filetype: 'html', pretty: 'HTML' },
  pdf: { mimetype: 'application/pdf', filetype: 'pdf', pretty: 'PDF' },
  zip: { mimetype: 'application/zip', filetype: 'zip', pretty: 'Zip' },
  mp4: { mimetype: 'video/mp4', filetype: 'mp4', pretty: 'MPEG 4 Video' },
  mov: { mimetype: 'video/quicktime', filetype: 'mov', pretty: 'QuickTime Movie' },
  webm: { mimetype: 'video/webm', filetype: 'webm', pretty: 'WebM' },
  mp3: { mimetype: 'audio/mpeg', filetype: 'mp3', pretty: 'MP3' },
  m4a: { mimetype: 'audio/mp4', filetype: 'm4a', pretty: 'MPEG 4 Audio' },
  ogg: { mimetype: 'audio/ogg', filetype: 'ogg', pretty: 'Ogg Vorbis' },
  wav: { mimetype: 'audio/wav', filetype: 'wav', pretty: 'WAV' },
};

const BINARY: FileType = { mimetype: 'application/octet-stream', filetype: 'binary', pretty: 'Binary' };

export function fileTypeOf(filename: string, snippetType?: string): FileType {
  if (snippetType) return { mimetype: 'text/plain', filetype: snippetType, pretty: snippetType };
  const dot = filename.lastIndexOf('.');
  const ext = dot >= 0 ? filename.slice(dot + 1).toLowerCase() : '';
  return BY_EXTENSION[ext] ?? BINARY;
}

/** Width and height of a PNG, GIF or JPEG; undefined for anything else or truncated bytes. */
export function imageSize(data: Buffer): { w: number; h: number } | undefined {
  if (data.length >= 24 && data.readUInt32BE(0) === 0x89504e47 && data.toString('latin1', 12, 16) === 'IHDR') {
    return { w: data.readUInt32BE(16), h: data.readUInt32BE(20) };
  }
  if (data.length >= 10 && data.toString('latin1', 0, 4) === 'GIF8') {
    return { w: data.readUInt16LE(6), h: data.readUInt16LE(8) };
  }
  if (data.length >= 4 && data[0] === 0xff && data[1] === 0xd8) {
    let pos = 2;
    while (pos + 9 < data.length) {
      if (data[pos] !== 0xff) return undefined;
      const marker = data[pos + 1];
      const len = data.readUInt16BE(pos + 2);
      // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { w: data.readUInt16BE(pos + 7), h: data.readUInt16BE(pos + 5) };
      }
      pos += 2 + len;
    }
  }
  return undefined;
}
