/** PVE::SectionConfig text files (storage.cfg, ha/resources.cfg, ha/groups.cfg, ha/rules.cfg). */

/** One `type: id` section with its properties, in file order. */
export interface Section {
  type: string;
  id: string;
  props: Record<string, string>;
}

/** Parse a section config; property lines are `<indent><key> [value]`. */
export function parseSectionConfig(text: string): Section[] {
  const out: Section[] = [];
  let cur: Section | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+$/, '');
    if (line === '' || line.startsWith('#')) {
      if (line === '') cur = undefined;
      continue;
    }
    const head = /^(\S+):\s*(\S+)\s*$/.exec(line);
    if (head && !/^\s/.test(raw)) {
      cur = { type: head[1] ?? '', id: head[2] ?? '', props: {} };
      out.push(cur);
      continue;
    }
    const prop = /^\s+(\S+)(?:\s+(.*))?$/.exec(line);
    if (prop && cur) cur.props[prop[1] ?? ''] = prop[2] ?? '1';
  }
  return out;
}

/**
 * Write sections like SectionConfig::write_config: `comment` first, then `disable`, then the
 * type's required keys (sorted), then every other key (sorted), each as `\t<key> <value>`.
 */
export function writeSectionConfig(sections: readonly Section[], required: (type: string) => readonly string[] = () => []): string {
  let out = '';
  for (const s of sections) {
    let data = `${s.type}: ${s.id}\n`;
    const done = new Set<string>();
    const put = (k: string): void => {
      const v = s.props[k];
      done.add(k);
      if (v === undefined || v === '') return;
      data += `\t${k} ${v}\n`;
    };
    if (s.props['comment']) put('comment');
    done.add('comment');
    if (s.props['disable'] && s.props['disable'] !== '0') data += '\tdisable\n';
    done.add('disable');
    for (const k of [...required(s.type)].sort()) if (!done.has(k)) put(k);
    for (const k of Object.keys(s.props).sort()) if (!done.has(k)) put(k);
    out += `${data}\n`;
  }
  return out;
}
