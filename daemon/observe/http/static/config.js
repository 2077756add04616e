// The configuration view: every key of the running configuration (secrets masked by the daemon),
// its value and where it came from (default, the file with line and column, an EDGELOOM_*
// variable, a CLI flag). Read-only; fetched when the section is opened.

(() => {
  const $ = (id) => document.getElementById(id);
  const details = $('config');
  const filter = $('config-filter');
  let rows = [];

  function flatten(value, path, out) {
    if (
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      Object.keys(value).length > 0
    ) {
      for (const [k, v] of Object.entries(value)) flatten(v, path ? `${path}.${k}` : k, out);
    } else {
      out.push([path, JSON.stringify(value)]);
    }
    return out;
  }

  function render() {
    const q = filter.value.trim().toLowerCase();
    const body = $('config-table').tBodies[0];
    body.replaceChildren(
      ...rows
        .filter((r) => q === '' || r.some((c) => c.toLowerCase().includes(q)))
        .map((r) => {
          const tr = document.createElement('tr');
          for (const [i, c] of r.entries()) {
            const td = document.createElement('td');
            td.textContent = c;
            if (i === 2) td.className = c === 'default' ? 'muted' : 'source';
            tr.append(td);
          }
          return tr;
        }),
    );
  }

  async function load() {
    const { config, sources } = await edgeloom.getJson('/api/config');
    rows = flatten(config, '', []).map(([k, v]) => [k, v, sources[k] ?? 'default']);
    render();
  }

  details.addEventListener('toggle', () => {
    if (details.open) load().catch(() => undefined);
  });
  filter.addEventListener('input', render);
})();
