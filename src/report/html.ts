// The pieces of a self-contained HTML page: escaping (every text that comes from a
// file goes through escapeHtml), tables, inline images as data: URIs, the page.

/** Text for HTML (element content and quoted attributes): the five characters that could open markup, escaped. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** A number as people read it: 4 significant digits, integers whole. */
export function formatNumber(v: unknown): string {
  if (typeof v !== "number") return String(v);
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}

/** A two-column table (name, value); the values are escaped. */
export function keyValueTable(rows: [string, unknown][], className = "kv"): string {
  if (!rows.length) return "";
  return `<table class="${className}">${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(typeof v === "number" ? formatNumber(v) : v)}</td></tr>`).join("")}</table>`;
}

/** A table with a header row; cells escaped. */
export function table(header: string[], rows: unknown[][]): string {
  if (!rows.length) return "";
  return `<table><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr>` +
    rows.map((r) => `<tr>${r.map((v) => `<td>${escapeHtml(typeof v === "number" ? formatNumber(v) : v)}</td>`).join("")}</tr>`).join("") + `</table>`;
}

const MIME: Record<string, string> = { ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp", ".gif": "image/gif", ".svg": "image/svg+xml" };

/** The MIME type of a picture file by its extension, or undefined when it is not one the page shows. */
export function imageMime(file: string): string | undefined {
  const dot = file.lastIndexOf(".");
  return dot < 0 ? undefined : MIME[file.slice(dot).toLowerCase()];
}

/** Width and height of a PNG (its IHDR chunk), or undefined for anything else. */
export function pngSize(bytes: Buffer): { width: number; height: number } | undefined {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (bytes.length < 24 || !bytes.subarray(0, 8).equals(signature)) return undefined;
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/**
 * A picture inline (a data: URI in an <img>, so even an SVG from a file runs no script).
 * Small PNGs (generated 64-pixel images) are shown enlarged with sharp pixels.
 */
export function inlineImage(bytes: Buffer, mime: string, caption: string): string {
  const size = mime === "image/png" ? pngSize(bytes) : undefined;
  const scale = size && size.width < 200 ? Math.min(4, Math.floor(256 / Math.max(1, size.width))) : 1;
  const style = scale > 1 ? ` style="width:${size!.width * scale}px;image-rendering:pixelated"` : "";
  return `<figure><img src="data:${mime};base64,${bytes.toString("base64")}" alt="${escapeHtml(caption)}"${style}><figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222;line-height:1.4}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2.5rem}h3{margin-top:1.5rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}th,td{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4;font-weight:600}td{font-variant-numeric:tabular-nums}
figure{display:inline-block;margin:.4rem .8rem .4rem 0;vertical-align:top}figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:.8rem;color:#555;max-width:640px;word-break:break-all}
.charts svg{margin:.3rem .8rem .3rem 0;border:1px solid #eee}
.note{background:#fff8e0;border-left:4px solid #e0b000;padding:.4rem .7rem}
.muted{color:#666;font-size:.9rem}details{margin:.5rem 0}summary{cursor:pointer;color:#345}
`;

/** The whole page: a title, a style sheet and the body (already escaped HTML). No script, no external resource. */
export function page(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<title>${escapeHtml(title)}</title>\n<style>${CSS}</style>\n</head>\n<body>\n${body}\n</body>\n</html>\n`;
}
