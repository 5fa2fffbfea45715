// The rule builder: every all/any/not group and condition of the rule document, and a JSON view kept in step.
// Each condition and group is a named group of controls ("Condition 2", "Group 1.3", numbered as people count) whose
// controls are named by the words they show (Fact, Operator, Value, …); its API path, which the API's errors
// name, is kept in data-path so they show beside it.
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useState } from 'preact/hooks';
import type { ApiError, ProblemError } from './api.js';
import { groupName, useGroupRefs } from './group-refs.js';
import {
  addChild,
  asksForMembers,
  childrenOf,
  defaultValue,
  errorsAt,
  fillTemplate,
  isLeaf,
  kindOf,
  leafType,
  matchGroups,
  memberOfLeaf,
  membershipWords,
  missingValue,
  namesGroups,
  newLeaf,
  operatorWords,
  operatorsFor,
  updateAt,
  validValue,
  valueKind,
  withKind,
  type GroupKind,
} from './rule-model.js';
import type { Catalogue, Condition, GroupRef, Leaf, RuleDocument, RuleTemplate } from './types.js';

interface Props {
  rule: RuleDocument;
  /** The group whose rule this is: its own name is not offered by the group search (a rule cannot name its group). */
  groupId?: string | undefined;
  catalogue: Catalogue;
  errors: ProblemError[];
  readOnly: boolean;
  onChange(rule: RuleDocument): void;
}

/** The API's errors of one place of the rule, said of what the person sees there (`subject`), not of its JSON path. */
function Errors({ list, subject }: { list: ProblemError[]; subject?: string }) {
  if (!list.length) return null;
  return (
    <ul class="field-errors" role="alert">
      {list.map((e) => (
        <li key={e.path + e.message}>{subject ? `${subject}: ${e.message}` : e.message}</li>
      ))}
    </ul>
  );
}

/** The words for a fact path ("$.enrolledAt" → "enrolled on"). */
const PATH_WORDS: Record<string, string> = {
  '$.externalId': 'id',
  '$.email': 'email',
  '$.firstName': 'first name',
  '$.lastName': 'last name',
  '$.type': 'type',
  '$.status': 'status',
  '$.branch': 'branch',
  '$.role': 'role',
  '$.class': 'class',
  '$.cohort': 'cohort',
  '$.mode': 'mode',
  '$.enrolledAt': 'enrolled on',
  '$.completedAt': 'completed on',
};
const pathWords = (p: string | undefined) => (p ? (PATH_WORDS[p] ?? p.replace(/^\$\./, '')) : '');

/**
 * What a condition is about, as a person names it: "Hire date", "User type", "Enrolment in DRV-101: status",
 * "Membership of “Contractors”" (by the group's name from `groups`).
 */
export function subjectOf(leaf: Leaf, cat: Catalogue, groups?: GroupRef[]): string {
  if (leaf.fact === 'email') return 'Email';
  if (leaf.fact === 'memberOf') return `Membership of ${groupName(groups, leaf.params?.group)}`;
  if (leaf.fact === 'field') return cat.fields.find((f) => f.key === leaf.params?.key)?.label ?? leaf.params?.key ?? 'Field';
  if (leaf.fact === 'user') return `User ${pathWords(leaf.path) || 'detail'}`;
  if (leaf.fact === 'enrollment') return `Enrolment in ${leaf.params?.course ?? 'a course'}${leaf.path ? `: ${pathWords(leaf.path)}` : ''}`;
  return leaf.fact;
}

export function RuleBuilder({ rule, groupId, catalogue, errors, readOnly, onChange }: Props) {
  const { groups, error: groupsError, reload: reloadGroups } = useGroupRefs(namesGroups(rule.conditions));
  const context: GroupContext = { groups, groupsError, reloadGroups, ...(groupId ? { selfId: groupId } : {}) };
  const update = (path: string, fn: (c: Condition) => Condition | null) => onChange({ ...rule, conditions: updateAt(rule.conditions, path, fn) });
  const templateId = useId();
  const rootErrors = errors.filter((e) => !e.path.replace(/^rule\.?/, '').startsWith('conditions'));
  return (
    <div class="rule-builder">
      {!readOnly && catalogue.templates.length > 0 && (
        <label class="template-picker">
          <span id={`${templateId}-label`}>Start from a template</span>
          <select aria-labelledby={`${templateId}-label`}
            value=""
            onChange={(e) => {
              const t = catalogue.templates.find((x) => x.id === (e.target as HTMLSelectElement).value);
              if (t) onChange(fillTemplate(t, placeholderDefaults(t, catalogue)));
            }}
          >
            <option value="">(choose a template: it replaces the rule)</option>
            {catalogue.templates.map((t) => (
              <option key={t.id} value={t.id} title={t.description}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
      )}
      <Errors list={rootErrors} />
      <Node node={rule.conditions} path="conditions" root catalogue={catalogue} groupContext={context} errors={errors} readOnly={readOnly} update={update} />
      <JsonView rule={rule} readOnly={readOnly} onChange={onChange} />
    </div>
  );
}

/**
 * A template's course and field placeholders keep their example when this directory has it, else take its first
 * course or field. A group placeholder starts empty: its example names no group here, and the condition asks for one.
 */
function placeholderDefaults(t: RuleTemplate, cat: Catalogue): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of t.placeholders as Array<{ name: string; type?: string; example: unknown }>) {
    if (p.type === 'group') out[p.name] = '';
    if (p.type === 'course' && cat.courses[0] && !cat.courses.some((c) => c.code === p.example)) out[p.name] = cat.courses[0].code;
    if (p.type === 'field' && cat.fields[0] && !cat.fields.some((f) => f.key === p.example)) out[p.name] = cat.fields[0].key;
  }
  return out;
}

/** The groups a "member of" condition can name, and the group whose rule is edited (not offered). */
interface GroupContext {
  groups: GroupRef[] | undefined;
  /** Why the groups could not be read (the search then says so). */
  groupsError: ApiError | undefined;
  reloadGroups(): void;
  selfId?: string;
}

interface NodeProps {
  node: Condition;
  path: string;
  root?: boolean;
  catalogue: Catalogue;
  groupContext: GroupContext;
  errors: ProblemError[];
  readOnly: boolean;
  update(path: string, fn: (c: Condition) => Condition | null): void;
}

function Node(props: NodeProps) {
  return isLeaf(props.node) ? <LeafEditor {...props} leaf={props.node} /> : <GroupEditor {...props} />;
}

/** A node's place as people count it: "conditions.all[1].any[0]" → "2.1" (the top group is ""). */
export function placeOf(path: string): string {
  return [...path.matchAll(/\[(\d+)\]|\.not/g)].map((m) => (m[1] === undefined ? '1' : String(Number(m[1]) + 1))).join('.');
}

function GroupEditor({ node, path, root, catalogue, groupContext, errors, readOnly, update }: NodeProps) {
  const kind = kindOf(node)!;
  const uid = useId();
  const name = root ? 'The rule' : `Group ${placeOf(path)}`;
  return (
    <fieldset class="rule-group" data-path={path} aria-label={name}>
      <legend>
        <label>
          <span class="sr-only" id={`${uid}-combine`}>
            Combine
          </span>
          <select aria-labelledby={`${uid}-combine`} value={kind} disabled={readOnly} onChange={(e) => update(path, (c) => withKind(c, (e.target as HTMLSelectElement).value as GroupKind))}>
            <option value="all">all of these</option>
            <option value="any">any of these</option>
            <option value="not">not this</option>
          </select>
        </label>
        {!root && !readOnly && (
          <button type="button" class="link" onClick={() => update(path, () => null)}>
            Remove group
          </button>
        )}
      </legend>
      <Errors list={errorsAt(errors, path, false)} subject="This group" />
      {childrenOf(node, path).map(({ child, path: p }) => (
        <Node key={p} node={child} path={p} catalogue={catalogue} groupContext={groupContext} errors={errors} readOnly={readOnly} update={update} />
      ))}
      {kind !== 'not' && !readOnly && (
        <div class="row">
          <button type="button" onClick={() => update(path, (c) => addChild(c, newLeaf()))}>
            Add a condition
          </button>
          <button type="button" onClick={() => update(path, (c) => addChild(c, { any: [newLeaf()] }))}>
            Add a group
          </button>
        </div>
      )}
    </fieldset>
  );
}

/** A leaf re-shaped for a new fact: the params and path that fact needs, an operator that fits, a new value. */
function withFact(leaf: Leaf, fact: Leaf['fact'], cat: Catalogue): Leaf {
  if (fact === 'memberOf') return memberOfLeaf();
  const next: Leaf = { fact, operator: leaf.operator, value: undefined };
  if (fact === 'field') next.params = { key: cat.fields[0]?.key ?? '' };
  if (fact === 'enrollment') {
    next.params = { course: cat.courses[0]?.code ?? '' };
    next.path = '$.status';
  }
  if (fact === 'user') next.path = '$.type';
  return retyped(next, cat);
}

/**
 * The fact, field or property changed, so the value's type may have: the operator is kept when the new type has
 * it, and the value always starts again from a valid default of the new type (never the old type's value).
 */
function retyped(leaf: Leaf, cat: Catalogue): Leaf {
  const t = leafType(leaf, cat);
  const ops = operatorsFor(t.type, cat);
  const op = ops.includes(leaf.operator) ? leaf.operator : (ops[0] ?? 'equal');
  return { ...leaf, operator: op, value: defaultValue(valueKind(op, t.type), t.options) };
}

/** The operator changed: the value stays when it is still valid for it, else starts again from a valid default. */
function withOperator(leaf: Leaf, cat: Catalogue, op: string): Leaf {
  const t = leafType(leaf, cat);
  const kind = valueKind(op, t.type);
  return { ...leaf, operator: op, value: validValue(kind, leaf.value, t.options) ? leaf.value : defaultValue(kind, t.options) };
}

function LeafEditor(props: NodeProps & { leaf: Leaf }) {
  return props.leaf.fact === 'memberOf' ? <MemberOfEditor {...props} /> : <ValueLeafEditor {...props} />;
}

/**
 * One condition's frame: its controls, its Remove button, what is missing from it and the API's errors about it.
 */
function LeafFrame(props: {
  path: string;
  missing: string | undefined;
  errors: ProblemError[];
  subject: string;
  readOnly: boolean;
  update: NodeProps['update'];
  children: ComponentChildren;
}) {
  const { path, missing, errors, subject, readOnly, update, children } = props;
  return (
    <div class={`rule-leaf${errors.length || missing ? ' has-errors' : ''}`} data-path={path} role="group" aria-label={`Condition ${placeOf(path)}`}>
      <div class="leaf-controls">
        {children}
        {!readOnly && (
          <button type="button" class="link" onClick={() => update(path, () => null)}>
            Remove
          </button>
        )}
      </div>
      {missing && (
        <p class="field-errors" role="alert">
          {missing}
        </p>
      )}
      <Errors list={errors} subject={subject} />
    </div>
  );
}

/** The facts a condition can be about, in words. */
function FactSelect({ leaf, labelId, readOnly, onChange }: { leaf: Leaf; labelId: string; readOnly: boolean; onChange(fact: Leaf['fact']): void }) {
  return (
    <select aria-labelledby={labelId} value={leaf.fact} disabled={readOnly} onChange={(e) => onChange((e.target as HTMLSelectElement).value as Leaf['fact'])}>
      <option value="email">Email</option>
      <option value="user">User detail</option>
      <option value="field">Additional field</option>
      <option value="enrollment">Enrolment in a course</option>
      <option value="memberOf">Member of a group</option>
    </select>
  );
}

/**
 * "is a member of / is not a member of <group>": the membership in words (`equal` true or false) and the group,
 * found by name. The group's name shows, never its id alone.
 */
function MemberOfEditor({ leaf, path, catalogue: cat, groupContext, errors, readOnly, update }: NodeProps & { leaf: Leaf }) {
  const set = (fn: (l: Leaf) => Leaf) => update(path, (c) => fn(c as Leaf));
  const uid = useId();
  const lid = (what: string) => `${uid}-${what}`;
  const group = leaf.params?.group ?? '';
  const subject = subjectOf(leaf, cat, groupContext.groups);
  const missing = group ? undefined : 'A “member of” condition needs a group: find one by its name';
  const mine = errorsAt(errors, path, true).filter((e) => !missing || !/\.params(\.group)?$/.test(e.path));
  return (
    <LeafFrame path={path} missing={missing} errors={mine} subject={subject} readOnly={readOnly} update={update}>
        <label>
          <span id={lid('fact')}>Fact</span>
          <FactSelect leaf={leaf} labelId={lid('fact')} readOnly={readOnly} onChange={(f) => set((l) => withFact(l, f, cat))} />
        </label>
        <label>
          <span id={lid('membership')}>Membership</span>
          <select
            aria-labelledby={lid('membership')}
            value={String(asksForMembers(leaf))}
            disabled={readOnly}
            onChange={(e) => set((l) => memberOfLeaf(l.params?.group ?? '', (e.target as HTMLSelectElement).value === 'true'))}
          >
            <option value="true">{membershipWords(true)}</option>
            <option value="false">{membershipWords(false)}</option>
          </select>
        </label>
        <GroupChooser value={group} context={groupContext} readOnly={readOnly} onChange={(id) => set((l) => ({ ...l, params: { group: id } }))} />
    </LeafFrame>
  );
}

/** The chosen group by name, and a search by name whose matches are buttons ("Choose Contractors"). */
function GroupChooser({ value, context, readOnly, onChange }: { value: string; context: GroupContext; readOnly: boolean; onChange(id: string): void }) {
  const [text, setText] = useState('');
  const uid = useId();
  const lid = (what: string) => `${uid}-${what}`;
  const { groups, selfId } = context;
  const found = matchGroups((groups ?? []).filter((g) => g.id !== selfId), text);
  const chosen = groups?.find((g) => g.id === value);
  return (
    <div class="group-chooser">
      <span class="label" id={lid('group')}>
        Group
      </span>{' '}
      <strong aria-labelledby={lid('group')} data-testid="chosen-group" title={value || undefined}>
        {value ? (chosen ? chosen.name : groupName(groups, value)) : '(none chosen)'}
      </strong>
      {!readOnly && (
        <label>
          <span id={lid('find')}>Find a group</span>
          <input
            aria-labelledby={lid('find')}
            type="search"
            value={text}
            placeholder="group name"
            onFocus={context.reloadGroups}
            onInput={(e) => setText((e.target as HTMLInputElement).value)}
          />
        </label>
      )}
      {!readOnly && context.groupsError && (
        <p class="error" role="alert">
          The groups could not be read: {context.groupsError.message}
        </p>
      )}
      {!readOnly && text.trim() !== '' && groups && (
        found.length ? (
          <ul class="picks" aria-label="Groups found">
            {found.map((g) => (
              <li key={g.id}>
                <button
                  type="button"
                  onClick={() => {
                    onChange(g.id);
                    setText('');
                  }}
                >
                  Choose {g.name}
                </button>{' '}
                <small>{g.type}</small>
              </li>
            ))}
          </ul>
        ) : (
          <p class="hint">No other group is named like “{text.trim()}”.</p>
        )
      )}
    </div>
  );
}

function ValueLeafEditor({ leaf, path, catalogue: cat, errors, readOnly, update }: NodeProps & { leaf: Leaf }) {
  const set = (fn: (l: Leaf) => Leaf) => update(path, (c) => fn(c as Leaf));
  const t = leafType(leaf, cat);
  const facts = cat.facts.find((f) => f.name === leaf.fact);
  const ops = operatorsFor(t.type, cat);
  const kind = valueKind(leaf.operator, t.type);
  const uid = useId();
  // Each control is named by the word it shows (aria-labelledby: a label around a select would add its options).
  const lid = (what: string) => `${uid}-${what}`;
  const subject = subjectOf(leaf, cat);
  // A value missing for its type is said at the condition, in words, before the API is asked about it.
  const missing = countsDays(leaf.operator) && typeof leaf.value !== 'number' ? `${subject} needs a number of days` : missingValue(subject, kind, leaf.value, kind === 'list' || kind === 'select' ? t.options : undefined);
  const mine = errorsAt(errors, path, true).filter((e) => !missing || !/\.value$/.test(e.path));
  return (
    <LeafFrame path={path} missing={missing} errors={mine} subject={subject} readOnly={readOnly} update={update}>
        <label>
          <span id={lid('fact')}>Fact</span>
          <FactSelect leaf={leaf} labelId={lid('fact')} readOnly={readOnly} onChange={(f) => set((l) => withFact(l, f, cat))} />
        </label>
        {leaf.fact === 'field' && (
          <label>
            <span id={lid('field')}>Field</span>
            <select aria-labelledby={lid('field')} value={leaf.params?.key ?? ''} disabled={readOnly} onChange={(e) => set((l) => retyped({ ...l, params: { key: (e.target as HTMLSelectElement).value } }, cat))}>
              {!cat.fields.some((f) => f.key === leaf.params?.key) && <option value={leaf.params?.key ?? ''}>{leaf.params?.key || '(choose)'}</option>}
              {cat.fields.map((f) => (
                <option key={f.key} value={f.key}>
                  {f.label}
                </option>
              ))}
            </select>
          </label>
        )}
        {leaf.fact === 'enrollment' && (
          <label>
            <span id={lid('course')}>Course</span>
            <select aria-labelledby={lid('course')} value={leaf.params?.course ?? ''} disabled={readOnly} onChange={(e) => set((l) => ({ ...l, params: { course: (e.target as HTMLSelectElement).value } }))}>
              {!cat.courses.some((c) => c.code === leaf.params?.course) && <option value={leaf.params?.course ?? ''}>{leaf.params?.course || '(choose)'}</option>}
              {cat.courses.map((c) => (
                <option key={c.code} value={c.code}>
                  {c.code} — {c.title}
                </option>
              ))}
            </select>
          </label>
        )}
        {(leaf.fact === 'user' || leaf.fact === 'enrollment') && (
          <label>
            <span id={lid('property')}>Property</span>
            <select
              aria-labelledby={lid('property')}
              value={leaf.path ?? ''}
              disabled={readOnly}
              onChange={(e) => {
                const p = (e.target as HTMLSelectElement).value;
                set((l) => {
                  const { path: _old, ...rest } = l;
                  return retyped(p ? { ...rest, path: p } : rest, cat);
                });
              }}
            >
              {leaf.fact === 'enrollment' && <option value="">(is enrolled)</option>}
              {facts?.paths.map((p) => (
                <option key={p.path} value={p.path}>
                  {pathWords(p.path)}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          <span id={lid('operator')}>Operator</span>
          <select aria-labelledby={lid('operator')} value={leaf.operator} disabled={readOnly} onChange={(e) => set((l) => withOperator(l, cat, (e.target as HTMLSelectElement).value))}>
            {!ops.includes(leaf.operator) && <option value={leaf.operator}>{operatorWords(leaf.operator)}</option>}
            {ops.map((o) => (
              <option key={o} value={o} title={cat.operators.find((x) => x.name === o.replace(/^not:/, ''))?.description}>
                {operatorWords(o)}
              </option>
            ))}
          </select>
        </label>
        <ValueInput kind={kind} days={countsDays(leaf.operator)} value={leaf.value} options={t.options} readOnly={readOnly} onChange={(v) => set((l) => ({ ...l, value: v }))} />
    </LeafFrame>
  );
}

/** Whether the operator's value is a number of days ("in the last N days"). */
const countsDays = (operator: string) => /^(not:)?(withinLastDays|moreThanDaysAgo)$/.test(operator);

interface ValueProps {
  kind: ReturnType<typeof valueKind>;
  /** The number is a number of days: labelled so. */
  days?: boolean;
  value: unknown;
  options?: string[] | undefined;
  readOnly: boolean;
  onChange(v: unknown): void;
}

function ValueInput({ kind, days, value, options, readOnly, onChange }: ValueProps) {
  const uid = useId();
  const lid = (what: string) => `${uid}-${what}`;
  const text = (e: Event) => (e.target as HTMLInputElement).value;
  if (kind === 'list') {
    const list = Array.isArray(value) ? value.map(String) : [];
    if (options?.length) {
      return (
        <label>
          <span id={lid('values')}>Values</span>
          <select aria-labelledby={lid('values')} multiple size={Math.min(4, options.length)} disabled={readOnly} onChange={(e) => onChange(Array.from((e.target as HTMLSelectElement).selectedOptions, (o) => o.value))}>
            {options.map((o) => (
              <option key={o} value={o} selected={list.includes(o)}>
                {o}
              </option>
            ))}
          </select>
        </label>
      );
    }
    return (
      <label>
        <span id={lid('values-comma-separated')}>Values (comma-separated)</span>
        <input aria-labelledby={lid('values-comma-separated')} value={list.join(', ')} readOnly={readOnly} onChange={(e) => onChange(text(e).split(',').map((s) => s.trim()).filter(Boolean))} />
      </label>
    );
  }
  if (kind === 'number') {
    return (
      <label>
        <span id={lid('value')}>{days ? 'N (days)' : 'Value'}</span>
        <input aria-labelledby={lid('value')} type="number" min={days ? 0 : undefined} value={typeof value === 'number' ? value : ''} readOnly={readOnly} onInput={(e) => text(e) !== '' && onChange(Number(text(e)))} />
      </label>
    );
  }
  if (kind === 'boolean') {
    return (
      <label>
        <span id={lid('value')}>Value</span>
        <select aria-labelledby={lid('value')} value={String(value === true)} disabled={readOnly} onChange={(e) => onChange((e.target as HTMLSelectElement).value === 'true')}>
          <option value="true">yes</option>
          <option value="false">no</option>
        </select>
      </label>
    );
  }
  if (kind === 'date') {
    return (
      <label>
        <span id={lid('date')}>Date</span>
        <input aria-labelledby={lid('date')} type="date" value={typeof value === 'string' ? value.slice(0, 10) : ''} readOnly={readOnly} onInput={(e) => onChange(text(e))} />
      </label>
    );
  }
  if (kind === 'select' && options?.length) {
    return (
      <label>
        <span id={lid('value')}>Value</span>
        <select aria-labelledby={lid('value')} value={String(value ?? '')} disabled={readOnly} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
          {!options.includes(String(value)) && <option value={String(value ?? '')}>{value ? `${String(value)} (not one of its values)` : '(choose)'}</option>}
          {options.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      </label>
    );
  }
  return (
    <label>
      <span id={lid('value')}>Value</span>
      <input aria-labelledby={lid('value')} value={typeof value === 'string' ? value : JSON.stringify(value)} readOnly={readOnly} onInput={(e) => onChange(text(e))} />
    </label>
  );
}

/** The rule as JSON: edits that parse replace the rule; edits that do not stay in the box with the parse error. */
function JsonView({ rule, readOnly, onChange }: { rule: RuleDocument; readOnly: boolean; onChange(rule: RuleDocument): void }) {
  const shown = JSON.stringify(rule, null, 2);
  const [draft, setDraft] = useState(shown);
  const [parseError, setParseError] = useState('');
  useEffect(() => {
    // The builder changed the rule: the box follows, unless it holds what the user is typing that means the same.
    setDraft((d) => {
      try {
        if (JSON.stringify(JSON.parse(d)) === JSON.stringify(rule)) return d;
      } catch {
        // what the user typed does not parse; the builder's change replaces it
      }
      return shown;
    });
    setParseError('');
  }, [shown]);
  return (
    <details class="json-view">
      <summary>JSON</summary>
      <label>
        <span class="sr-only">Rule as JSON</span>
        <textarea
          aria-label="Rule as JSON"
          rows={12}
          spellcheck={false}
          readOnly={readOnly}
          value={draft}
          onInput={(e) => {
            const text = (e.target as HTMLTextAreaElement).value;
            setDraft(text);
            try {
              const parsed = JSON.parse(text) as RuleDocument;
              if (typeof parsed !== 'object' || parsed === null || typeof parsed.conditions !== 'object' || parsed.conditions === null) throw new Error('a rule is an object with "conditions"');
              setParseError('');
              onChange(parsed);
            } catch (err) {
              setParseError((err as Error).message);
            }
          }}
        />
      </label>
      {parseError && <p class="error" role="alert">Not applied: {parseError}</p>}
    </details>
  );
}
