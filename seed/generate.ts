// Generates the demo data set in seed/data/ from a fixed seed: a mid-sized company's learning platform with HR
// fields, courses with classes and cohorts, enrolments in every state, and groups that show each kind of rule.
// Run `node --import tsx seed/generate.ts` after changing it; the JSON it writes is committed and reviewed.
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'data');
const USERS = 240;
const TODAY = Date.UTC(2026, 10, 1); // the data set's "now": 2026-11-01

let state = 0x5eed;
function rand(): number {
  // mulberry32
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const chance = (p: number) => rand() < p;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const DAY = 86_400_000;

const FIRST = ['Ana', 'Ben', 'Chloé', 'Dmitri', 'Emma', 'Farid', 'Grace', 'Hiro', 'Isabel', 'Jonas', 'Kemi', 'Lars', 'Maya', 'Nikhil', 'Olga', 'Pedro', 'Quinn', 'Rosa', 'Sven', 'Tariq', 'Uma', 'Viktor', 'Wen', 'Ximena', 'Yusuf', 'Zoë'];
const LAST = ['Almeida', 'Brown', 'Chen', 'Dubois', 'Eriksen', 'Fischer', 'García', 'Haddad', 'Ivanova', 'Jansen', 'Kowalski', 'López', 'Müller', 'Nakamura', 'Okafor', 'Petrov', 'Rossi', 'Silva', 'Tanaka', 'Urban', 'Vargas', 'Weber', 'Yilmaz', 'Zhang'];
const DEPARTMENTS = ['Sales', 'Operations', 'Engineering', 'Finance', 'People', 'Logistics', 'Customer Care'];
const LOCATIONS = ['Lisbon', 'Berlin', 'Toronto', 'Singapore', 'Remote'];
const TITLES: Record<string, string[]> = {
  Sales: ['Account Executive', 'Sales Manager', 'Sales Development Rep'],
  Operations: ['Operations Analyst', 'Site Supervisor', 'Operations Manager'],
  Engineering: ['Software Engineer', 'QA Engineer', 'Engineering Manager'],
  Finance: ['Accountant', 'Financial Analyst', 'Controller'],
  People: ['HR Partner', 'Recruiter', 'People Manager'],
  Logistics: ['Driver', 'Fleet Coordinator', 'Warehouse Lead'],
  'Customer Care': ['Support Agent', 'Support Team Lead', 'Customer Success Manager'],
};
const BRANCHES = ['north', 'south', 'east', 'west'];
// Every office has a manager in each department, as a company of this size has; remote staff report to them. Without
// them, a group on location and job title together ("Lisbon engineering managers") holds whoever the random draw
// happens to put there, which was nobody. Users 21 to 48 are these managers (1 to 20 are the recent hires).
const OFFICES = LOCATIONS.filter((l) => l !== 'Remote');
const MANAGER_TITLE: Record<string, string> = {
  Sales: 'Sales Manager',
  Operations: 'Operations Manager',
  Engineering: 'Engineering Manager',
  Finance: 'Controller',
  People: 'People Manager',
  Logistics: 'Warehouse Lead',
  'Customer Care': 'Support Team Lead',
};
const FIRST_SITE_MANAGER = 21;
const siteManagerSlot = (i: number): number | undefined => {
  const slot = i - FIRST_SITE_MANAGER;
  return slot >= 0 && slot < DEPARTMENTS.length * OFFICES.length ? slot : undefined;
};

const fields = [
  { key: 'department', label: 'Department', type: 'select', options: DEPARTMENTS },
  { key: 'jobTitle', label: 'Job title', type: 'text' },
  { key: 'location', label: 'Location', type: 'select', options: LOCATIONS },
  { key: 'hireDate', label: 'Hire date', type: 'date' },
  { key: 'employeeNumber', label: 'Employee number', type: 'number' },
  { key: 'isManager', label: 'People manager', type: 'boolean' },
  { key: 'costCenter', label: 'Cost center', type: 'text' },
  { key: 'contractType', label: 'Contract type', type: 'select', options: ['permanent', 'fixed-term', 'contractor'] },
];

const courses = [
  { code: 'DRV-101', title: 'Driver Safety' },
  { code: 'FIRE-100', title: 'Fire Safety and Evacuation' },
  { code: 'HR-201', title: 'Preventing Harassment at Work' },
  { code: 'ONB-001', title: 'Welcome to the Company' },
  { code: 'SAL-300', title: 'Consultative Selling' },
  { code: 'DATA-150', title: 'Data Protection Essentials' },
];
const CLASSES: Record<string, string[]> = {
  'DRV-101': ['Tutorial_1|THU|01:00PM|C05', 'Tutorial_2|FRI|09:00AM|C05', 'Practical_1|SAT|10:00AM|YARD'],
  'FIRE-100': ['Drill_A|MON|08:30AM|B12', 'Drill_B|WED|02:00PM|B12'],
  'SAL-300': ['Workshop_1|TUE|10:00AM|R2', 'Workshop_2|TUE|03:00PM|R2'],
};
const COHORTS = ['2026-Spring', '2026-Autumn'];

const slug = (s: string) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z]/g, '');

const users = [];
const enrollments = [];
const emails = new Set<string>();
for (let i = 1; i <= USERS; i++) {
  const firstName = pick(FIRST);
  const lastName = pick(LAST);
  const contractor = chance(0.12);
  const domain = contractor ? 'contractor.example.com' : 'example.com';
  let email = `${slug(firstName)}.${slug(lastName)}@${domain}`;
  for (let n = 2; emails.has(email); n++) email = `${slug(firstName)}.${slug(lastName)}${n}@${domain}`;
  emails.add(email);
  const slot = siteManagerSlot(i);
  const department = slot === undefined ? pick(DEPARTMENTS) : DEPARTMENTS[slot % DEPARTMENTS.length]!;
  const hire = TODAY - Math.floor(rand() * 6 * 365) * DAY;
  const staff = chance(0.15);
  const externalId = `E${String(10000 + i)}`;
  users.push({
    externalId,
    email,
    firstName,
    lastName,
    type: staff ? 'staff' : 'learner',
    status: slot === undefined && chance(0.06) ? 'inactive' : 'active',
    branch: pick(BRANCHES),
    fields: {
      department,
      jobTitle: slot === undefined ? pick(TITLES[department]!) : MANAGER_TITLE[department]!,
      location: slot === undefined ? pick(LOCATIONS) : OFFICES[Math.floor(slot / DEPARTMENTS.length)]!,
      hireDate: isoDay(i <= 20 ? TODAY - Math.floor(rand() * 80) * DAY : hire),
      employeeNumber: 40000 + i,
      isManager: slot !== undefined || chance(0.12),
      costCenter: `CC-${department.slice(0, 3).toUpperCase()}-${1 + Math.floor(rand() * 3)}`,
      contractType: contractor ? 'contractor' : chance(0.15) ? 'fixed-term' : 'permanent',
    },
  });
  for (const course of courses) {
    const likely = course.code === 'ONB-001' ? 0.8 : course.code === 'DRV-101' ? (department === 'Logistics' ? 0.9 : 0.25) : course.code === 'SAL-300' ? (department === 'Sales' ? 0.85 : 0.05) : 0.35;
    if (!chance(likely)) continue;
    const status = pick(['subscribed', 'in_progress', 'in_progress', 'completed', 'completed', 'completed', 'waitlisted', 'suspended'] as const);
    const classes = CLASSES[course.code];
    enrollments.push({
      course: course.code,
      externalId,
      status,
      role: staff && chance(0.3) ? 'instructor' : 'student',
      ...(classes ? { class: pick(classes) } : {}),
      ...(course.code === 'DRV-101' || course.code === 'ONB-001' ? { cohort: pick(COHORTS) } : {}),
      mode: contractor ? 'external' : 'internal',
    });
  }
}

// A university course run by class group sync (src/class-sync; turned on by seed/data/class-sync.json): its students'
// class registrations, cohorts and attendance mode become the course's groups, e.g. [Tutorial_1|THU|01:00PM|C05],
// [AHIS190_2018_FHFYR_INT_U] and [External]. Drawn after every other record so that adding it changed none of them.
const CLASS_SYNC_COURSE = { code: 'AHIS190', title: 'Ancient History: Greece and Rome' };
const AHIS_CLASSES = ['Tutorial_1|THU|01:00PM|C05', 'Tutorial_2|FRI|10:00AM|C07', 'Tutorial_3|FRI|02:00PM|C07'];
courses.push(CLASS_SYNC_COURSE);
for (const u of users) {
  if (!chance(0.3)) continue;
  const external = u.email.endsWith('@contractor.example.com') || chance(0.15);
  enrollments.push({
    course: CLASS_SYNC_COURSE.code,
    externalId: u.externalId,
    status: pick(['subscribed', 'in_progress', 'in_progress', 'completed'] as const),
    role: u.type === 'staff' && chance(0.5) ? 'instructor' : 'student',
    class: pick(AHIS_CLASSES),
    // Most external students are in the external cohort; a few stay in the internal one ([External] has them all).
    cohort: external && chance(0.8) ? 'AHIS190_2018_FHFYR_EXT_U' : 'AHIS190_2018_FHFYR_INT_U',
    mode: external ? 'external' : 'internal',
  });
}
const classSync = [{ course: CLASS_SYNC_COURSE.code, enabled: true }];

const groups = [
  {
    name: 'Driver Safety certified',
    description: 'Everyone who has completed Driver Safety (DRV-101); fleet access is granted from this group.',
    type: 'automatic',
    rule: { conditions: { all: [{ fact: 'enrollment', params: { course: 'DRV-101' }, path: '$.status', operator: 'equal', value: 'completed' }] } },
  },
  {
    name: 'Sales new hires',
    description: 'Sales staff hired in the last 90 days: the onboarding track.',
    type: 'automatic',
    rule: { conditions: { all: [
      { fact: 'field', params: { key: 'department' }, operator: 'equal', value: 'Sales' },
      { fact: 'field', params: { key: 'hireDate' }, operator: 'withinLastDays', value: 90 },
    ] } },
  },
  {
    name: 'Contractors',
    description: 'Everyone with a contractor email address.',
    type: 'automatic',
    rule: { conditions: { all: [{ fact: 'email', operator: 'includesText', value: '@contractor.' }] } },
  },
  {
    name: 'Staff',
    description: 'Staff accounts (not learners).',
    type: 'automatic',
    manualMembers: 'keep',
    rule: { conditions: { all: [{ fact: 'user', path: '$.type', operator: 'equal', value: 'staff' }] } },
  },
  {
    name: 'Onboarding incomplete',
    description: 'Enrolled in Welcome to the Company but not finished.',
    type: 'automatic',
    rule: { conditions: { all: [
      { fact: 'enrollment', params: { course: 'ONB-001' }, path: '$.status', operator: 'in', value: ['subscribed', 'in_progress'] },
    ] } },
  },
  {
    name: 'Lisbon engineering managers',
    description: 'Location and job title together.',
    type: 'automatic',
    rule: { conditions: { all: [
      { fact: 'field', params: { key: 'location' }, operator: 'equal', value: 'Lisbon' },
      { fact: 'field', params: { key: 'jobTitle' }, operator: 'equal', value: 'Engineering Manager' },
    ] } },
  },
  {
    name: 'No data-protection training yet',
    description: 'Active users not enrolled in Data Protection Essentials.',
    type: 'automatic',
    rule: { conditions: { not: { fact: 'enrollment', params: { course: 'DATA-150' }, operator: 'exists', value: true } } },
  },
  // `members` is not part of a group's body: the loader adds them by hand, as each site would.
  { name: 'Fire wardens', description: 'Named by each site; maintained by hand.', type: 'manual', members: fireWardens(users) },
];

/** One warden per office: its first active employee who is not a contractor. */
function fireWardens(people: ReadonlyArray<{ externalId: string; status: string; fields: { location: string; contractType: string } }>): string[] {
  return OFFICES.map((office) => people.find((u) => u.fields.location === office && u.status === 'active' && u.fields.contractType !== 'contractor')!.externalId);
}

await mkdir(OUT, { recursive: true });
const write = (name: string, data: unknown) => writeFile(path.join(OUT, name), JSON.stringify(data, null, 2) + '\n');
await write('fields.json', fields);
await write('courses.json', courses);
await write('users.json', users);
await write('enrollments.json', enrollments);
await write('groups.json', groups);
await write('class-sync.json', classSync);
console.log(`wrote ${fields.length} fields, ${courses.length} courses, ${users.length} users, ${enrollments.length} enrolments, ${groups.length} groups to ${OUT}`);
