import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from "lit";
import { collectGuests, validateConfig, type CardConfig, type GuestRow, type HassLike } from "./model.js";
import {
  type CardLocale,
  cardLocale,
  count,
  fill,
  formatAbsolute,
  formatAgo,
  pageLanguage,
  statusLabel,
  WORDS,
} from "./words.js";

export const CARD_TYPE = "backup2mqtt-card";

/** How often the relative times ("3 hours ago") are brought up to date while the card is shown. */
const TICK_MS = 30_000;

/** `custom:backup2mqtt-card`: every backup2mqtt guest, problems first, with a run-now button. */
export class Backup2MqttCard extends LitElement {
  static override properties = {
    hass: { attribute: false },
    _config: { state: true },
    _pressed: { state: true },
  };

  hass?: HassLike;
  private _config: CardConfig = {};
  private _pressed = new Set<string>();
  private _rows: GuestRow[] = [];
  private _locale: CardLocale = cardLocale(undefined);
  private _tick: ReturnType<typeof setInterval> | undefined;

  /**
   * Visual editor: HA renders a form from this schema (no custom editor element needed). The form
   * gets no `hass`, so its words follow the page's language (HA sets <html lang>).
   */
  static getConfigForm() {
    const form = () => WORDS[pageLanguage()].form;
    return {
      schema: [
        { name: "title", selector: { text: {} } },
        { name: "show_ok", selector: { boolean: {} } },
        { name: "compact", selector: { boolean: {} } },
        { name: "guests", selector: { text: { multiple: true } } },
      ],
      computeLabel: (s: { name: string }) => (form() as Record<string, string>)[s.name] ?? s.name,
      computeHelper: (s: { name: string }) => (s.name === "guests" ? form().guestsHelper : undefined),
    };
  }

  /** No title: the card then shows its default title in each viewer's language. */
  static getStubConfig(): Omit<CardConfig, "type"> {
    return { show_ok: true };
  }

  setConfig(config: CardConfig): void {
    this._config = {
      show_ok: true,
      ...validateConfig(config, this.hass ? cardLocale(this.hass).language : pageLanguage()),
    };
  }

  getCardSize(): number {
    return 1 + Math.max(1, this._rows.length);
  }

  getGridOptions() {
    return { columns: 12, min_columns: 6, rows: "auto", min_rows: 2 };
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this._tick ??= setInterval(() => this.requestUpdate(), TICK_MS);
  }

  override disconnectedCallback(): void {
    clearInterval(this._tick);
    this._tick = undefined;
    super.disconnectedCallback();
  }

  protected override willUpdate(changed: PropertyValues): void {
    if ((changed.has("hass") || changed.has("_config")) && this.hass) {
      this._locale = cardLocale(this.hass);
      this._rows = collectGuests(this.hass, this._config, this._locale);
    }
  }

  private async _backUp(row: GuestRow): Promise<void> {
    const button = row.entities.back_up_now;
    if (!button || !this.hass) return;
    this._pressed = new Set(this._pressed).add(row.deviceId);
    try {
      await this.hass.callService("button", "press", { entity_id: button });
    } catch (e) {
      const error = e && typeof e === "object" && "message" in e ? String(e.message) : String(e);
      const message = fill(WORDS[this._locale.language].pressFailed, { name: row.name, error });
      // Home Assistant shows this as a toast (its showToast fires the same event).
      this.dispatchEvent(new CustomEvent("hass-notification", { detail: { message }, bubbles: true, composed: true }));
    } finally {
      setTimeout(() => {
        const next = new Set(this._pressed);
        next.delete(row.deviceId);
        this._pressed = next;
      }, 3000);
    }
  }

  /** A time cell: how long ago, live; the time itself (or why there is none) as its tooltip. */
  private _when(cls: string, iso: string | null, none: string, now: number): TemplateResult {
    const title = formatAbsolute(iso, this._locale) || none;
    return html`<div class=${cls} title=${title}>${formatAgo(iso, this._locale.language, now)}</div>`;
  }

  private _row(r: GuestRow, now: number): TemplateResult {
    const w = WORDS[this._locale.language];
    const compact = this._config.compact === true;
    const busy = r.running || this._pressed.has(r.deviceId);
    const word = statusLabel(r.status, this._locale.language);
    const progress =
      r.status === "running" && r.progress !== null ? ` ${w.percent.replace("#", String(r.progress))}` : "";
    const title = r.statusText ?? (r.reasons.length ? r.reasons.join("\n") : word);
    return html`
      <div class="row ${r.problem ? "problem" : ""}" data-guest=${r.name}>
        <div class="name" title=${r.guestId ? `${r.name} (${r.guestId})` : r.name}>${r.name}</div>
        <div class="tier">${r.tier ? html`<span class="tier-chip">${r.tier}</span>` : html`<span class="muted" title=${w.noTier}>—</span>`}</div>
        <div class="status"><span class="chip ${r.status}" title=${title}>${word}${progress}</span></div>
        ${this._when("age", r.lastBackup, w.never.last, now)}
        ${
          compact
            ? nothing
            : html`${this._when("offsite", r.lastOffsite, w.never.offsite, now)}${this._when("verified", r.lastVerified, w.never.verified, now)}`
        }
        <div class="action">
          ${
            r.entities.back_up_now
              ? html`<button class="run" ?disabled=${busy} @click=${() => this._backUp(r)} title=${fill(w.backUpTitle, { name: r.name })}>
                ${busy ? w.busy : w.backUp}
              </button>`
              : nothing
          }
        </div>
        ${r.problem && r.reasons.length ? html`<div class="reasons">${r.reasons.map((t) => html`<div class="reason">${t}</div>`)}</div>` : nothing}
      </div>
    `;
  }

  protected override render(): TemplateResult {
    const w = WORDS[this._locale.language];
    const rows = this._rows;
    const now = Date.now();
    const problems = rows.filter((r) => r.problem).length;
    const compact = this._config.compact === true;
    const c = w.columns;
    return html`
      <ha-card>
        <div class="header">
          <span class="title">${this._config.title ?? w.title}</span>
          <span class="summary ${problems ? "bad" : "good"}">${problems ? count(w.needAttention, problems) : rows.length ? w.allOk : ""}</span>
        </div>
        ${
          rows.length === 0
            ? html`<div class="empty">${w.empty}</div>`
            : html`<div class="table ${compact ? "compact" : ""}">
              <div class="row head">
                <div>${c.guest}</div><div>${c.tier}</div><div>${c.status}</div><div>${c.last}</div>
                ${compact ? nothing : html`<div>${c.offsite}</div><div>${c.verified}</div>`}<div></div>
              </div>
              ${rows.map((r) => this._row(r, now))}
            </div>`
        }
      </ha-card>
    `;
  }

  static override styles = css`
    :host {
      display: block;
    }
    ha-card {
      display: block;
      padding: 12px 16px 8px;
      background: var(--ha-card-background, var(--card-background-color, #fff));
      color: var(--primary-text-color, #212121);
      border-radius: var(--ha-card-border-radius, 12px);
      box-shadow: var(--ha-card-box-shadow, none);
      border: 1px solid var(--divider-color, #e0e0e0);
      font-family: var(--paper-font-body1_-_font-family, Roboto, "Noto Sans", sans-serif);
    }
    .header {
      display: flex;
      justify-content: space-between;
      align-items: baseline;
      margin-bottom: 8px;
    }
    .title {
      font-size: 1.25em;
      font-weight: 500;
    }
    .summary.bad {
      color: var(--error-color, #db4437);
      font-weight: 500;
    }
    .summary.good {
      color: var(--success-color, #43a047);
    }
    /* One grid for the whole table, each row a subgrid of it: the columns fit their words in every
       language ("Failed" or "Fehlgeschlagen", "3 hours ago" or "vor 3 Stunden") and stay aligned. */
    .table {
      display: grid;
      grid-template-columns: minmax(80px, 1fr) repeat(6, auto);
      column-gap: 8px;
    }
    .table.compact {
      grid-template-columns: minmax(80px, 1fr) repeat(4, auto);
    }
    .table .row {
      grid-column: 1 / -1;
      display: grid;
      grid-template-columns: subgrid;
      align-items: center;
      row-gap: 2px;
      padding: 6px 0;
      border-top: 1px solid var(--divider-color, #eee);
      font-size: 0.95em;
    }
    @supports not (grid-template-columns: subgrid) {
      .table .row {
        grid-template-columns: minmax(80px, 2fr) 44px 112px 104px 104px 104px 88px;
      }
      .table.compact .row {
        grid-template-columns: minmax(80px, 2fr) 44px 112px 104px 88px;
      }
    }
    .age,
    .offsite,
    .verified,
    .status {
      white-space: nowrap;
    }
    .table .row.head {
      border-top: none;
      color: var(--secondary-text-color, #727272);
      font-size: 0.8em;
      text-transform: uppercase;
      letter-spacing: 0.03em;
    }
    .row.problem .name {
      font-weight: 500;
    }
    .name {
      overflow: hidden;
      text-overflow: ellipsis;
      white-space: nowrap;
    }
    .reasons {
      grid-column: 1 / -1;
      color: var(--secondary-text-color, #727272);
      font-size: 0.85em;
    }
    .reason + .reason {
      margin-top: 2px;
    }
    .chip,
    .tier-chip {
      display: inline-block;
      padding: 1px 8px;
      border-radius: 10px;
      font-size: 0.85em;
      font-weight: 500;
      color: #fff;
      background: var(--disabled-color, #9e9e9e);
    }
    .tier-chip {
      color: var(--primary-text-color, #212121);
      background: var(--secondary-background-color, #eceff1);
      padding: 1px 6px;
    }
    .chip.ok {
      background: var(--success-color, #43a047);
    }
    .chip.stale {
      background: var(--warning-color, #ffa600);
    }
    .chip.failed {
      background: var(--error-color, #db4437);
    }
    .chip.missing {
      background: #8e24aa;
    }
    .chip.running {
      background: var(--info-color, #039be5);
    }
    .muted {
      color: var(--secondary-text-color, #727272);
    }
    button.run {
      font: inherit;
      font-size: 0.85em;
      padding: 4px 10px;
      border-radius: 14px;
      border: 1px solid var(--primary-color, #03a9f4);
      color: var(--primary-color, #03a9f4);
      background: transparent;
      cursor: pointer;
    }
    button.run[disabled] {
      opacity: 0.55;
      cursor: default;
    }
    .empty {
      color: var(--secondary-text-color, #727272);
      padding: 8px 0 12px;
    }
  `;
}
