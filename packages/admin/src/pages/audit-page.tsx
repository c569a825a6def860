/**
 * The audit log: filters (tenant, actor, action, time range), paging newest first, the result of
 * the hash-chain verification, and an export of everything matching the filters as JSON Lines.
 */
import { useState, type FormEvent } from 'react';
import type { AuditEntry, AuditQueryParams } from '@powerx/protocol';
import { isApiError } from '../api/api-error.ts';
import { ErrorBox, Empty, Loading } from '../components/states.tsx';
import { useSession } from '../session-context.ts';
import { useAsync } from '../use-async.ts';

const PAGE = 50;
const EXPORT_PAGE = 1000;

interface Filters {
  tenant: string;
  actor: string;
  action: string;
  since: string;
  until: string;
}

const EMPTY: Filters = { tenant: '', actor: '', action: '', since: '', until: '' };

function toQuery(f: Filters): AuditQueryParams {
  const iso = (local: string) => (local ? new Date(local).toISOString() : undefined);
  const q: AuditQueryParams = {};
  if (f.tenant) q.tenant = f.tenant;
  if (f.actor.trim()) q.actor = f.actor.trim();
  if (f.action.trim()) q.action = f.action.trim();
  const since = iso(f.since);
  const until = iso(f.until);
  if (since) q.since = since;
  if (until) q.until = until;
  return q;
}

export function AuditPage() {
  const { api, tenants, me } = useSession();
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  // Cursors of the pages seen so far: [undefined (newest), before of page 2, …].
  const [cursors, setCursors] = useState<Array<number | undefined>>([undefined]);
  const before = cursors[cursors.length - 1];
  const pageNumber = cursors.length;
  // The answer keeps the page number it was asked for: while the next page loads, the rows on
  // screen are still those of the previous one, and must not be taken for the new page.
  const page = useAsync(
    async () => ({
      ...(await api.audit({ ...toQuery(filters), limit: PAGE, ...(before ? { before } : {}) })),
      pageNumber,
      filtered: Object.keys(toQuery(filters)).length > 0,
    }),
    [api, filters, before],
  );
  const canVerify = me.permissions.includes('audit:read') || me.permissions.includes('admin');
  const verify = useAsync(
    () => (canVerify ? api.verifyAudit() : Promise.resolve(undefined)),
    [api, canVerify],
  );
  const [exporting, setExporting] = useState<string>();
  const [expanded, setExpanded] = useState<number>();

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilters(draft);
    setCursors([undefined]);
  };

  const exportJsonl = async () => {
    setExporting('Exporting…');
    try {
      const lines: string[] = [];
      let cursor: number | undefined;
      for (;;) {
        const res = await api.audit({
          ...toQuery(filters),
          limit: EXPORT_PAGE,
          ...(cursor ? { before: cursor } : {}),
        });
        for (const e of res.entries) lines.push(JSON.stringify(e));
        setExporting(`Exporting… ${lines.length} entries`);
        if (!res.nextBefore || !res.entries.length) break;
        cursor = res.nextBefore;
      }
      // Oldest first, like the chain itself.
      const blob = new Blob([lines.reverse().join('\n') + (lines.length ? '\n' : '')], {
        type: 'application/x-ndjson',
      });
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `audit-${new Date().toISOString().replaceAll(':', '-').slice(0, 19)}.jsonl`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      setExporting(`Exported ${lines.length} entries.`);
    } catch (error) {
      setExporting(`Export failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  const entries: AuditEntry[] = page.data?.entries ?? [];
  return (
    <div>
      <div className="page-head">
        <h1>Audit</h1>
        <span className="spacer" />
        <button
          type="button"
          onClick={() => void exportJsonl()}
          disabled={exporting?.startsWith('Exporting')}
        >
          Export JSON Lines
        </button>
      </div>
      {exporting ? (
        <div className="muted small" role="status">
          {exporting}
        </div>
      ) : null}
      {canVerify ? (
        verify.loading && !verify.data ? (
          <Loading what="the hash-chain check" />
        ) : verify.error ? (
          <ErrorBox error={verify.error} title="Could not verify the chain" onRetry={verify.reload} />
        ) : verify.data ? (
          <div
            className={`state ${verify.data.ok ? 'state-ok' : 'state-error'}`}
            data-chain={verify.data.ok ? 'ok' : 'broken'}
            role="status"
          >
            {verify.data.ok ? '✓ Hash chain intact' : '✗ Hash chain broken'}: {verify.data.entries} entries,
            head <code>{verify.data.headHash.slice(0, 16)}…</code>
            {!verify.data.ok ? (
              <div>
                {verify.data.firstBadSeq !== undefined ? `First bad entry #${verify.data.firstBadSeq}: ` : ''}
                {verify.data.reason}
              </div>
            ) : null}
            <button type="button" onClick={verify.reload}>
              Verify again
            </button>
          </div>
        ) : null
      ) : (
        <div className="muted small">Chain verification needs the audit:read permission.</div>
      )}
      <form className="card filters" onSubmit={apply} aria-label="Filters">
        <label>
          Tenant
          <select value={draft.tenant} onChange={(e) => setDraft({ ...draft, tenant: e.target.value })}>
            <option value="">all</option>
            {tenants.map((t) => (
              <option key={t.id} value={t.id}>
                {t.id}
              </option>
            ))}
          </select>
        </label>
        <label>
          Actor
          <input
            value={draft.actor}
            onChange={(e) => setDraft({ ...draft, actor: e.target.value })}
            placeholder="admin"
          />
        </label>
        <label>
          Action
          <input
            value={draft.action}
            onChange={(e) => setDraft({ ...draft, action: e.target.value })}
            placeholder="plugin.* or plugin.install"
          />
        </label>
        <label>
          From
          <input
            type="datetime-local"
            value={draft.since}
            onChange={(e) => setDraft({ ...draft, since: e.target.value })}
          />
        </label>
        <label>
          To
          <input
            type="datetime-local"
            value={draft.until}
            onChange={(e) => setDraft({ ...draft, until: e.target.value })}
          />
        </label>
        <div className="actions">
          <button type="submit" className="primary">
            Apply
          </button>
          <button
            type="button"
            onClick={() => {
              setDraft(EMPTY);
              setFilters(EMPTY);
              setCursors([undefined]);
            }}
          >
            Reset
          </button>
        </div>
      </form>
      {page.loading && !page.data ? (
        <Loading what="audit entries" />
      ) : page.error ? (
        isApiError(page.error) && page.error.status === 403 ? (
          <ErrorBox error={page.error} title="You may not read this audit" />
        ) : (
          <ErrorBox error={page.error} onRetry={page.reload} />
        )
      ) : !entries.length ? (
        <Empty title="No audit entry matches." />
      ) : (
        <div className="table-wrap">
          <table
            className="audit"
            aria-busy={page.loading}
            data-page={page.data?.pageNumber}
            data-filtered={page.data?.filtered}
          >
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Time</th>
                <th scope="col">Actor</th>
                <th scope="col">Tenant</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Outcome</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.seq} data-audit-action={e.action}>
                  <td>{e.seq}</td>
                  <td>{new Date(e.ts).toLocaleString()}</td>
                  <td>{e.actor}</td>
                  <td>{e.tenant ?? '—'}</td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td className="wrap">{e.target ?? '—'}</td>
                  <td>
                    <span
                      className={`badge ${e.outcome === 'ok' ? 'badge-ok' : e.outcome === 'started' ? 'badge-busy' : 'badge-bad'}`}
                    >
                      {e.outcome}
                    </span>
                  </td>
                  <td>
                    {e.details ? (
                      <button
                        type="button"
                        className="link"
                        aria-expanded={expanded === e.seq}
                        onClick={() => setExpanded(expanded === e.seq ? undefined : e.seq)}
                      >
                        {expanded === e.seq ? 'hide' : 'show'}
                      </button>
                    ) : (
                      '—'
                    )}
                    {expanded === e.seq ? (
                      <pre className="details">{JSON.stringify(e.details, null, 2)}</pre>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="pager">
        <button
          type="button"
          onClick={() => setCursors((c) => c.slice(0, -1))}
          disabled={cursors.length <= 1}
        >
          ← Newer
        </button>
        <span className="muted">
          Page {pageNumber}
          {page.loading && page.data ? ' (loading…)' : ''}
        </span>
        <button
          type="button"
          onClick={() => page.data?.nextBefore && setCursors((c) => [...c, page.data!.nextBefore])}
          disabled={!page.data?.nextBefore}
        >
          Older →
        </button>
      </div>
    </div>
  );
}
