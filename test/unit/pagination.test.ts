import { expect, it } from 'vitest';
import { paginate } from '../../src/schema/pagination.js';

const items = ['a', 'b', 'c', 'd', 'e'];
const page = (args: Parameters<typeof paginate>[2]) => paginate(items, (x) => x, args);

it('pages forward with cursors that survive inserts', () => {
  const p1 = page({ first: 2 });
  expect(p1.edges.map((e) => e.node)).toEqual(['a', 'b']);
  expect(p1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
  const p2 = paginate(['a', 'aa', 'b', 'c', 'd', 'e'], (x) => x, { first: 2, after: p1.pageInfo.endCursor });
  expect(p2.edges.map((e) => e.node)).toEqual(['c', 'd']);
});

it('pages backward', () => {
  const p = page({ last: 2, before: page({ first: 4 }).pageInfo.endCursor });
  expect(p.edges.map((e) => e.node)).toEqual(['b', 'c']);
  expect(p.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
});

it('refuses page sizes past the maximum', () => {
  expect(() => page({ first: 501 })).toThrow(/between 0 and 500/);
  expect(() => page({ first: -1 })).toThrow();
});

it('defaults to 100 per page', () => {
  expect(
    paginate(
      Array.from({ length: 150 }, (_, i) => String(i).padStart(3, '0')),
      (x) => x,
      {},
    ).edges,
  ).toHaveLength(100);
});
