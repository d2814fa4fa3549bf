/**
 * SG106 compose-volume-removal (src/lint/rules/compose-volume-removal.ts, docs/rules.md SG106):
 * volume-destroying docker commands in any run:, read as a shell reads them; with issue 12's bypass D.
 * Each case asserts the complete list of problems (`#!SGnnn` markers on the expected lines).
 */
import { expect, it } from '@jest/globals';
import { job, PERMS, SHA, found, lint, table } from '../support.js';

table('SG106 compose-volume-removal', [
  {
    name: 'down -v, -V, -y and --volumes next to a guard, on their exact lines',
    yaml: job(
      `      - uses: acme/stateguard/actions/guard@${SHA}\n      - run: |\n          echo start\n          docker compose -p platform down -v #!SG106\n          docker-compose -f c.yml up -d -V #!SG106\n          docker compose up -y store #!SG106\n          docker compose down --volumes #!SG106\n`,
    ),
  },
  {
    name: 'a workflow with an allow_stateful input touches stateful modules',
    yaml: `on:\n  workflow_dispatch:\n    inputs:\n      allow_stateful:\n        type: boolean\n        default: false\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: docker compose down -fv #!SG106\n`,
  },
  // Every workflow since issue 12: volumes are what stateguard protects, with or without a stateguard step.
  {
    name: 'the same commands in a workflow that touches no stateful module',
    yaml: job(
      `      - uses: acme/stateguard/actions/plan@${SHA}\n      - run: |\n          docker compose down -v #!SG106\n          docker compose up -V #!SG106\n`,
    ),
  },
  {
    name: 'near-miss: safe compose commands next to a guard',
    yaml: job(
      `      - uses: acme/stateguard/actions/guard@${SHA}\n      - run: |\n          docker compose down\n          docker compose run -v /tmp:/tmp store ls\n          docker compose run store apt-get install -y curl\n          docker compose -p yes up -d # -y in a comment\n          docker volume ls -v\n`,
    ),
  },
]);

it('SG106 reports a command continued over lines on the line where it starts', async () => {
  const yaml = job(
    `      - uses: ./actions/guard\n      - run: |\n          echo start\n          docker compose up -d \\\n            --renew-anon-volumes\n`,
  );
  expect(yaml.split('\n')[10]).toBe('          docker compose up -d \\');
  expect(found(await lint(yaml))).toEqual(['SG106@11']);
});

// D: volume destruction, by tokenising the shell instead of matching regexes; every workflow.
table('D: volume destruction (SG106)', [
  {
    name: 'docker global options, quoted program, =1/=true, docker-compose, volume rm/prune, system prune, rm -v, -V',
    yaml: job(
      [
        `      - uses: acme/stateguard/actions/guard@${SHA}`,
        `      - run: |`,
        `          docker --context prod compose -p platform down -v #!SG106`,
        `          docker -H ssh://deploy@host compose down --volumes #!SG106`,
        `          "docker" compose down -v #!SG106`,
        `          docker compose down --volumes=1 #!SG106`,
        `          docker compose --file a.yml down --volumes=true #!SG106`,
        `          docker-compose down -v #!SG106`,
        `          docker volume rm store_data #!SG106`,
        `          docker volume prune -f #!SG106`,
        `          docker system prune --volumes -f #!SG106`,
        `          docker compose rm -v #!SG106`,
        `          docker compose rm --volumes store #!SG106`,
        `          docker compose up -d -V #!SG106`,
        `          docker --log-level debug --config /c compose --project-name p down -v #!SG106`,
      ].join('\n') + '\n',
    ),
  },
  {
    name: 'a variable holding the command',
    yaml: job(
      `      - run: |\n          DC="docker compose"\n          $DC -p platform down -v #!SG106\n          \${DC} down --volumes #!SG106\n`,
    ),
  },
  {
    name: 'the command from env:',
    yaml: job(`      - run: $COMPOSE down -v #!SG106\n        env:\n          COMPOSE: docker compose -f prod.yml\n`),
  },
  {
    name: 'through sh -c, after && and inside $( )',
    yaml: job(
      `      - run: |\n          bash -c 'docker compose down -v' #!SG106\n          cd platform && sudo docker compose down -v #!SG106\n          echo "$(docker volume prune -af)" #!SG106\n`,
    ),
  },
  {
    name: 'any workflow, not only one with a stateguard step',
    yaml: `on: push\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: docker compose down -v #!SG106\n`,
  },
  {
    name: 'near-miss: down without -v, --volumes=false, mounts, listing, quoted text, comments, other programs',
    yaml: `on: push\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: |\n          docker compose down\n          docker compose down --volumes=false\n          docker compose run -v /tmp:/tmp store ls\n          docker run -v data:/data alpine true\n          docker volume ls\n          docker volume inspect store_data\n          docker compose exec store rm -v /tmp/x\n          echo "docker compose down -v"\n          # docker compose down -v\n          docker compose logs -f store # then down -v\n          my-docker compose down -v\n`,
  },
]);
