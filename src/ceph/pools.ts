/**
 * Pools pinned to one OSD: osd.N sits alone in CRUSH host bucket hN, rule pinN takes hN and chooses one OSD,
 * and a pool of size 1 on pinN keeps every object on osd.N. The replicas r0..rN-1 and the noisy
 * neighbours' pools nN are all made this way.
 */
import { ceph } from './ceph-cli.js';
import type { PinnedPool } from './cluster-state.js';

/** Placement groups per pool: a handful is plenty for one OSD and keeps peering instant. */
export const PGS_PER_POOL = 8;

/**
 * Places osd.N in host bucket hN (created on first use), makes rule pinN (take hN, one OSD) if missing and
 * creates `name` on it with size 1. Also used for a noisy neighbour's pool on an existing OSD.
 */
export async function pinPool(
  conf: string,
  name: string,
  osd: number,
  role: PinnedPool['role'],
): Promise<PinnedPool> {
  const rule = `pin${osd}`;
  if (role === 'replica') {
    await ceph(conf, ['osd', 'crush', 'add', `osd.${osd}`, '1.0', `host=h${osd}`, 'root=default']);
    await ceph(conf, ['osd', 'crush', 'rule', 'create-replicated', rule, `h${osd}`, 'osd']);
  }
  const pg = String(PGS_PER_POOL);
  await ceph(conf, ['osd', 'pool', 'create', name, pg, pg, 'replicated', rule, '--size', '1']);
  return { name, osd, rule, role };
}
