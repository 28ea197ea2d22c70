import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from "lit";
import {
  collectGuests,
  formatAge,
  STATUS_LABEL,
  validateConfig,
  type CardConfig,
  type GuestRow,
  type HassLike,
} from "./model.js";

export const CARD_TYPE = "backup2mqtt-card";

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

  /** Visual editor: HA renders a form from this schema (no custom editor element needed). */
  static getConfigForm() {
    return {
      schema: [
        { name: "title", selector: { text: {} } },
        { name: "show_ok", selector: { boolean: {} } },
        { name: "compact", selector: { boolean: {} } },
        { name: "guests", selector: { text: { multiple: true } } },
      ],
      computeLabel: (s: { name: string }) =>
        ({
          title: "Title",
          show_ok: "Show guests that are OK",
          compact: "Compact (hide off-site and verified)",
          guests: "Only these guests (names)",
        })[s.name] ?? s.name,
      computeHelper: (s: { name: string }) =>
        s.name === "guests" ? "Empty: every guest of every backup2mqtt bridge" : undefined,
    };
  }

  static getStubConfig(): Omit<CardConfig, "type"> {
    return { title: "Backups", show_ok: true };
  }

  setConfig(config: CardConfig): void {
    this._config = { show_ok: true, ...validateConfig(config) };
  }

  getCardSize(): number {
    return 1 + Math.max(1, this._rows.length);
  }

  getGridOptions() {
    return { columns: 12, min_columns: 6, rows: "auto", min_rows: 2 };
  }

  protected override willUpdate(changed: PropertyValues): void {
    if ((changed.has("hass") || changed.has("_config")) && this.hass)
      this._rows = collectGuests(this.hass, this._config);
  }

  private async _backUp(row: GuestRow): Promise<void> {
    const button = row.entities.back_up_now;
    if (!button || !this.hass) return;
    this._pressed = new Set(this._pressed).add(row.deviceId);
    try {
      await this.hass.callService("button", "press", { entity_id: button });
    } finally {
      setTimeout(() => {
        const next = new Set(this._pressed);
        next.delete(row.deviceId);
        this._pressed = next;
      }, 3000);
    }
  }

  private _row(r: GuestRow, now: number): TemplateResult {
    const compact = this._config.compact === true;
    const busy = r.running || this._pressed.has(r.deviceId);
    const title = r.reasons.length ? r.reasons.join("\n") : STATUS_LABEL[r.status];
    return html`
      <div class="row ${r.problem ? "problem" : ""}" data-guest=${r.name}>
        <div class="name" title=${r.guestId ?? r.name}>${r.name}</div>
        <div class="tier">${r.tier ? html`<span class="tier-chip">${r.tier}</span>` : html`<span class="muted">—</span>`}</div>
        <div class="status"><span class="chip ${r.status}" title=${title}>${STATUS_LABEL[r.status]}${r.status === "running" && r.progress !== null ? ` ${r.progress}%` : ""}</span></div>
        <div class="age" title=${r.lastBackup ?? "never"}>${formatAge(r.lastBackup, now)}</div>
        ${
          compact
            ? nothing
            : html`<div class="offsite" title=${r.lastOffsite ?? "no off-site copy known"}>${formatAge(r.lastOffsite, now)}</div>
              <div class="verified" title=${r.lastVerified ?? "never verified"}>${formatAge(r.lastVerified, now)}</div>`
        }
        <div class="action">
          ${
            r.entities.back_up_now
              ? html`<button class="run" ?disabled=${busy} @click=${() => this._backUp(r)} title="Back up ${r.name} now">
                ${busy ? "Running…" : "Back up"}
              </button>`
              : nothing
          }
        </div>
        ${r.problem && r.reasons.length ? html`<div class="reasons">${r.reasons.join(" · ")}</div>` : nothing}
      </div>
    `;
  }

  protected override render(): TemplateResult {
    const rows = this._rows;
    const now = Date.now();
    const problems = rows.filter((r) => r.problem).length;
    const compact = this._config.compact === true;
    return html`
      <ha-card>
        <div class="header">
          <span class="title">${this._config.title ?? "Backups"}</span>
          <span class="summary ${problems ? "bad" : "good"}">${problems ? `${problems} need attention` : rows.length ? "All OK" : ""}</span>
        </div>
        ${
          rows.length === 0
            ? html`<div class="empty">No backup2mqtt guests found. Is the bridge running and MQTT discovery on?</div>`
            : html`<div class="table ${compact ? "compact" : ""}">
              <div class="row head">
                <div>Guest</div><div>Tier</div><div>Status</div><div>Last</div>
                ${compact ? nothing : html`<div>Off-site</div><div>Verified</div>`}<div></div>
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
    .table .row {
      display: grid;
      grid-template-columns: minmax(90px, 2fr) 44px 84px 52px 58px 62px 88px;
      align-items: center;
      gap: 4px;
      padding: 6px 0;
      border-top: 1px solid var(--divider-color, #eee);
      font-size: 0.95em;
    }
    .table.compact .row {
      grid-template-columns: minmax(90px, 2fr) 44px 84px 52px 88px;
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
      margin-top: -2px;
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
