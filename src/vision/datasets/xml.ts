// A small, safe XML reader for annotation files (Pascal VOC): elements,
// attributes, text, CDATA, comments and processing instructions, and the five
// predefined entities plus character references. It never resolves external
// entities: a document type declaration (<!DOCTYPE) or entity declaration
// (<!ENTITY) is refused outright, as is any other named entity.
import { FlareError } from "../../errors.js";

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (its text and CDATA pieces joined, not its children's). */
  text: string;
}

const PREDEFINED: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: "\"", apos: "'" };
const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.\u00b7\u00c0-\uffff]*/;
const MAX_DEPTH = 256;

export interface ParseXmlOptions {
  /** Names the source in error messages (a file path). */
  source?: string;
}

/** Parses an XML document into its root element; a FlareError (E_FORMAT) names the source, line and problem. */
export function parseXml(text: string, options: ParseXmlOptions = {}): XmlElement {
  const source = options.source ?? "XML";
  if (typeof text !== "string") throw new FlareError(`${source}: expected XML text, got ${typeof text}`, "E_ARGUMENT");
  let i = 0;
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  const fail = (problem: string, at = i): never => {
    const line = text.slice(0, at).split("\n").length;
    throw new FlareError(`${source}: malformed XML at line ${line}: ${problem}`, "E_FORMAT");
  };
  const decode = (raw: string, at: number): string => raw.replace(/&([^;&<\s]*);?/g, (match, ref: string) => {
    if (!match.endsWith(";")) fail(`"&" must start an entity reference such as &amp;`, at);
    if (ref.startsWith("#")) {
      const code = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!/^#(x[0-9a-fA-F]+|X[0-9a-fA-F]+|[0-9]+)$/.test(ref) || !(code > 0 && code <= 0x10ffff)) fail(`bad character reference &${ref};`, at);
      return String.fromCodePoint(code);
    }
    const value = PREDEFINED[ref];
    if (value === undefined) fail(`unknown entity &${ref}; (only &lt; &gt; &amp; &quot; &apos; and character references are read; entities are never resolved)`, at);
    return value;
  });

  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (i < text.length) {
    const lt = text.indexOf("<", i);
    const end = lt < 0 ? text.length : lt;
    if (end > i) {
      const raw = text.slice(i, end);
      if (stack.length === 0) {
        if (raw.trim().length > 0) fail(root ? "text after the root element" : "text before the root element");
      } else stack[stack.length - 1].text += decode(raw, i);
      i = end;
      continue;
    }
    // text[i] === "<"
    if (text.startsWith("<!--", i)) {
      const close = text.indexOf("-->", i + 4);
      if (close < 0) fail("unterminated comment");
      i = close + 3;
    } else if (text.startsWith("<![CDATA[", i)) {
      if (stack.length === 0) fail("CDATA outside the root element");
      const close = text.indexOf("]]>", i + 9);
      if (close < 0) fail("unterminated CDATA section");
      stack[stack.length - 1].text += text.slice(i + 9, close);
      i = close + 3;
    } else if (text.startsWith("<!", i)) {
      const word = /^<!([A-Za-z]*)/.exec(text.slice(i, i + 20))?.[1]?.toUpperCase() ?? "";
      if (word === "DOCTYPE" || word === "ENTITY") fail(`<!${word} is refused: document type and entity declarations are not processed (no external entities)`);
      fail(`unexpected markup <!${word}`);
    } else if (text.startsWith("<?", i)) {
      const close = text.indexOf("?>", i + 2);
      if (close < 0) fail("unterminated processing instruction");
      i = close + 2;
    } else if (text.startsWith("</", i)) {
      const m = NAME.exec(text.slice(i + 2, i + 2 + 1024));
      if (!m) fail("bad closing tag");
      const name = m![0];
      let j = i + 2 + name.length;
      while (j < text.length && /\s/.test(text[j])) j++;
      if (text[j] !== ">") fail(`closing tag </${name} is not closed with ">"`);
      const open = stack.pop();
      if (!open) fail(`closing tag </${name}> without an opening tag`);
      if (open!.name !== name) fail(`closing tag </${name}> does not match <${open!.name}>`);
      i = j + 1;
    } else {
      const start = i;
      const m = NAME.exec(text.slice(i + 1, i + 1 + 1024));
      if (!m) fail("a \"<\" that does not start a tag (write &lt; in text)");
      const element: XmlElement = { name: m![0], attributes: {}, children: [], text: "" };
      let j = i + 1 + element.name.length;
      let selfClosing = false;
      for (;;) {
        const ws = j;
        while (j < text.length && /\s/.test(text[j])) j++;
        if (j >= text.length) fail(`tag <${element.name}> is not closed`, start);
        if (text[j] === ">") { j++; break; }
        if (text.startsWith("/>", j)) { j += 2; selfClosing = true; break; }
        if (j === ws) fail(`attributes of <${element.name}> must be separated by spaces`, j);
        const a = NAME.exec(text.slice(j, j + 1024));
        if (!a) fail(`bad attribute in <${element.name}>`, j);
        const attr = a![0];
        j += attr.length;
        while (j < text.length && /\s/.test(text[j])) j++;
        if (text[j] !== "=") fail(`attribute ${attr} of <${element.name}> has no value`, j);
        j++;
        while (j < text.length && /\s/.test(text[j])) j++;
        const quote = text[j];
        if (quote !== "\"" && quote !== "'") fail(`attribute ${attr} of <${element.name}> must be quoted`, j);
        const close = text.indexOf(quote, j + 1);
        if (close < 0) fail(`attribute ${attr} of <${element.name}> is not closed`, j);
        const raw = text.slice(j + 1, close);
        if (raw.includes("<")) fail(`"<" inside attribute ${attr} of <${element.name}>`, j);
        if (Object.prototype.hasOwnProperty.call(element.attributes, attr)) fail(`attribute ${attr} repeated in <${element.name}>`, j);
        element.attributes[attr] = decode(raw, j);
        j = close + 1;
      }
      if (stack.length === 0) {
        if (root) fail("a second root element", start);
        root = element;
      } else stack[stack.length - 1].children.push(element);
      if (!selfClosing) {
        if (stack.length >= MAX_DEPTH) fail(`elements nested deeper than ${MAX_DEPTH}`, start);
        stack.push(element);
      }
      i = j;
    }
  }
  if (stack.length > 0) fail(`<${stack[stack.length - 1].name}> is not closed (the file ends first)`);
  if (!root) fail("no root element (empty document)");
  return root!;
}

/** The first child element called `name`, or undefined. */
export function child(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((c) => c.name === name);
}

/** All child elements called `name`. */
export function childrenNamed(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((c) => c.name === name);
}

/** The trimmed text of the child `name`, or undefined when there is none. */
export function childText(element: XmlElement, name: string): string | undefined {
  const c = child(element, name);
  return c === undefined ? undefined : c.text.trim();
}

/** XML text with &, <, >, " and ' escaped. */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&apos;" })[c]!);
}
