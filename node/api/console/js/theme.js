// Light/dark theme: the system's choice unless the person picked one with the toggle.
const KEY = 'edgebase.theme';

export function applyStoredTheme() {
  const stored = localStorage.getItem(KEY);
  if (stored === 'light' || stored === 'dark') document.documentElement.dataset.theme = stored;
}

export function isDark() {
  const explicit = document.documentElement.dataset.theme;
  if (explicit) return explicit === 'dark';
  return matchMedia('(prefers-color-scheme: dark)').matches;
}

export function toggleTheme() {
  const next = isDark() ? 'light' : 'dark';
  document.documentElement.dataset.theme = next;
  localStorage.setItem(KEY, next);
  return next;
}
