// What a receiver gets. The standard format is the Standard Webhooks payload: `{type, timestamp,
// data}` with the finding's facts in `data`. Slack (incoming webhooks: `text` plus Block Kit
// `blocks`) and Teams (a message with an Adaptive Card attachment, what Teams workflows accept)
// render the same facts as messages people read. Every format is signed the same way.
import type { OutboxMessage, WebhookFormat } from './webhook-outbox.js';

export interface WebhookPayload {
  type: OutboxMessage['type'];
  timestamp: string;
  data: Record<string, unknown>;
}

/** The Standard Webhooks payload of a message: its facts, how many times it happened, when. */
export function standardPayload(m: OutboxMessage, at: Date): WebhookPayload {
  return {
    type: m.type,
    timestamp: at.toISOString(),
    data: { ...m.data, count: m.count, firstSeen: m.firstSeen, lastSeen: m.lastSeen },
  };
}

const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

/** One line a person reads: what happened to which package under which policy. */
export function headline(p: WebhookPayload): string {
  const d = p.data;
  const pkg = d.version ? `${str(d.name)}@${str(d.version)}` : str(d.name);
  const times = Number(d.count) > 1 ? ` (${Number(d.count)} times since ${str(d.firstSeen)})` : '';
  switch (p.type) {
    case 'block':
      return `lockwarden blocked ${pkg} under policy "${str(d.policy)}"${times}`;
    case 'alert':
      return `lockwarden alert: ${pkg} under policy "${str(d.policy)}"${times}`;
    case 'unavailable':
      return `lockwarden could not check ${pkg} under policy "${str(d.policy)}"${times}`;
    case 'policy.changed':
      return `lockwarden policy "${str(d.policy)}" was ${str(d.change)}`;
    default:
      return 'lockwarden test delivery: this webhook works';
  }
}

/** Facts as label/value pairs, the ones that exist. */
function facts(p: WebhookPayload): Array<[string, string]> {
  const d = p.data;
  const pairs: Array<[string, unknown]> = [
    ['Rule', d.rule],
    ['Outcome', d.outcome],
    ['Policy', d.policy],
    ['Label', d.label],
    ['Source', d.source],
    ['User agent', d.userAgent],
    ['Revision', d.revision],
    ['Time', d.time ?? p.timestamp],
  ];
  return pairs.filter(([, v]) => v !== null && v !== undefined && v !== '').map(([k, v]) => [k, str(v)]);
}

/** Slack's mrkdwn: `&`, `<` and `>` are control characters (links, mentions). */
const slackEscape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderBody(format: WebhookFormat, p: WebhookPayload): string {
  if (format === 'standard') return JSON.stringify(p);
  const title = headline(p);
  const message = str(p.data.message);
  const hint = str(p.data.hint);
  if (format === 'slack') {
    const blocks: unknown[] = [{ type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } }];
    if (message) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: slackEscape(message) } });
    blocks.push({
      type: 'section',
      fields: facts(p)
        .map(([k, v]) => ({ type: 'mrkdwn', text: `*${k}*\n${slackEscape(v)}` }))
        .slice(0, 10),
    });
    if (hint) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: slackEscape(hint) }] });
    return JSON.stringify({ text: message ? `${title}: ${message}` : title, blocks });
  }
  const body: unknown[] = [{ type: 'TextBlock', text: title, weight: 'Bolder', size: 'Medium', wrap: true }];
  if (message) body.push({ type: 'TextBlock', text: message, wrap: true });
  body.push({ type: 'FactSet', facts: facts(p).map(([title, value]) => ({ title, value })) });
  if (hint) body.push({ type: 'TextBlock', text: hint, wrap: true, isSubtle: true });
  return JSON.stringify({
    type: 'message',
    summary: title,
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
        },
      },
    ],
  });
}
