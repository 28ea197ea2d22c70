/* backup2mqtt-card — built from ha-integration/card (npm run build:card); lit is BSD-3-Clause */
var N=globalThis,M=N.ShadowRoot&&(N.ShadyCSS===void 0||N.ShadyCSS.nativeShadow)&&"adoptedStyleSheets"in Document.prototype&&"replace"in CSSStyleSheet.prototype,j=Symbol(),it=new WeakMap,C=class{constructor(t,e,s){if(this._$cssResult$=!0,s!==j)throw Error("CSSResult is not constructable. Use `unsafeCSS` or `css` instead.");this.cssText=t,this.t=e}get styleSheet(){let t=this.o,e=this.t;if(M&&t===void 0){let s=e!==void 0&&e.length===1;s&&(t=it.get(e)),t===void 0&&((this.o=t=new CSSStyleSheet).replaceSync(this.cssText),s&&it.set(e,t))}return t}toString(){return this.cssText}},nt=n=>new C(typeof n=="string"?n:n+"",void 0,j),q=(n,...t)=>{let e=n.length===1?n[0]:t.reduce((s,i,o)=>s+(r=>{if(r._$cssResult$===!0)return r.cssText;if(typeof r=="number")return r;throw Error("Value passed to 'css' function must be a 'css' function result: "+r+". Use 'unsafeCSS' to pass non-literal values, but take care to ensure page security.")})(i)+n[o+1],n[0]);return new C(e,n,j)},rt=(n,t)=>{if(M)n.adoptedStyleSheets=t.map(e=>e instanceof CSSStyleSheet?e:e.styleSheet);else for(let e of t){let s=document.createElement("style"),i=N.litNonce;i!==void 0&&s.setAttribute("nonce",i),s.textContent=e.cssText,n.appendChild(s)}},z=M?n=>n:n=>n instanceof CSSStyleSheet?(t=>{let e="";for(let s of t.cssRules)e+=s.cssText;return nt(e)})(n):n;var{is:St,defineProperty:Et,getOwnPropertyDescriptor:kt,getOwnPropertyNames:Ct,getOwnPropertySymbols:Rt,getPrototypeOf:Pt}=Object,L=globalThis,ot=L.trustedTypes,Ut=ot?ot.emptyScript:"",Ot=L.reactiveElementPolyfillSupport,R=(n,t)=>n,G={toAttribute(n,t){switch(t){case Boolean:n=n?Ut:null;break;case Object:case Array:n=n==null?n:JSON.stringify(n)}return n},fromAttribute(n,t){let e=n;switch(t){case Boolean:e=n!==null;break;case Number:e=n===null?null:Number(n);break;case Object:case Array:try{e=JSON.parse(n)}catch{e=null}}return e}},lt=(n,t)=>!St(n,t),at={attribute:!0,type:String,converter:G,reflect:!1,useDefault:!1,hasChanged:lt};Symbol.metadata??=Symbol("metadata"),L.litPropertyMetadata??=new WeakMap;var g=class extends HTMLElement{static addInitializer(t){this._$Ei(),(this.l??=[]).push(t)}static get observedAttributes(){return this.finalize(),this._$Eh&&[...this._$Eh.keys()]}static createProperty(t,e=at){if(e.state&&(e.attribute=!1),this._$Ei(),this.prototype.hasOwnProperty(t)&&((e=Object.create(e)).wrapped=!0),this.elementProperties.set(t,e),!e.noAccessor){let s=Symbol(),i=this.getPropertyDescriptor(t,s,e);i!==void 0&&Et(this.prototype,t,i)}}static getPropertyDescriptor(t,e,s){let{get:i,set:o}=kt(this.prototype,t)??{get(){return this[e]},set(r){this[e]=r}};return{get:i,set(r){let l=i?.call(this);o?.call(this,r),this.requestUpdate(t,l,s)},configurable:!0,enumerable:!0}}static getPropertyOptions(t){return this.elementProperties.get(t)??at}static _$Ei(){if(this.hasOwnProperty(R("elementProperties")))return;let t=Pt(this);t.finalize(),t.l!==void 0&&(this.l=[...t.l]),this.elementProperties=new Map(t.elementProperties)}static finalize(){if(this.hasOwnProperty(R("finalized")))return;if(this.finalized=!0,this._$Ei(),this.hasOwnProperty(R("properties"))){let e=this.properties,s=[...Ct(e),...Rt(e)];for(let i of s)this.createProperty(i,e[i])}let t=this[Symbol.metadata];if(t!==null){let e=litPropertyMetadata.get(t);if(e!==void 0)for(let[s,i]of e)this.elementProperties.set(s,i)}this._$Eh=new Map;for(let[e,s]of this.elementProperties){let i=this._$Eu(e,s);i!==void 0&&this._$Eh.set(i,e)}this.elementStyles=this.finalizeStyles(this.styles)}static finalizeStyles(t){let e=[];if(Array.isArray(t)){let s=new Set(t.flat(1/0).reverse());for(let i of s)e.unshift(z(i))}else t!==void 0&&e.push(z(t));return e}static _$Eu(t,e){let s=e.attribute;return s===!1?void 0:typeof s=="string"?s:typeof t=="string"?t.toLowerCase():void 0}constructor(){super(),this._$Ep=void 0,this.isUpdatePending=!1,this.hasUpdated=!1,this._$Em=null,this._$Ev()}_$Ev(){this._$ES=new Promise(t=>this.enableUpdating=t),this._$AL=new Map,this._$E_(),this.requestUpdate(),this.constructor.l?.forEach(t=>t(this))}addController(t){(this._$EO??=new Set).add(t),this.renderRoot!==void 0&&this.isConnected&&t.hostConnected?.()}removeController(t){this._$EO?.delete(t)}_$E_(){let t=new Map,e=this.constructor.elementProperties;for(let s of e.keys())this.hasOwnProperty(s)&&(t.set(s,this[s]),delete this[s]);t.size>0&&(this._$Ep=t)}createRenderRoot(){let t=this.shadowRoot??this.attachShadow(this.constructor.shadowRootOptions);return rt(t,this.constructor.elementStyles),t}connectedCallback(){this.renderRoot??=this.createRenderRoot(),this.enableUpdating(!0),this._$EO?.forEach(t=>t.hostConnected?.())}enableUpdating(t){}disconnectedCallback(){this._$EO?.forEach(t=>t.hostDisconnected?.())}attributeChangedCallback(t,e,s){this._$AK(t,s)}_$ET(t,e){let s=this.constructor.elementProperties.get(t),i=this.constructor._$Eu(t,s);if(i!==void 0&&s.reflect===!0){let o=(s.converter?.toAttribute!==void 0?s.converter:G).toAttribute(e,s.type);this._$Em=t,o==null?this.removeAttribute(i):this.setAttribute(i,o),this._$Em=null}}_$AK(t,e){let s=this.constructor,i=s._$Eh.get(t);if(i!==void 0&&this._$Em!==i){let o=s.getPropertyOptions(i),r=typeof o.converter=="function"?{fromAttribute:o.converter}:o.converter?.fromAttribute!==void 0?o.converter:G;this._$Em=i;let l=r.fromAttribute(e,o.type);this[i]=l??this._$Ej?.get(i)??l,this._$Em=null}}requestUpdate(t,e,s,i=!1,o){if(t!==void 0){let r=this.constructor;if(i===!1&&(o=this[t]),s??=r.getPropertyOptions(t),!((s.hasChanged??lt)(o,e)||s.useDefault&&s.reflect&&o===this._$Ej?.get(t)&&!this.hasAttribute(r._$Eu(t,s))))return;this.C(t,e,s)}this.isUpdatePending===!1&&(this._$ES=this._$EP())}C(t,e,{useDefault:s,reflect:i,wrapped:o},r){s&&!(this._$Ej??=new Map).has(t)&&(this._$Ej.set(t,r??e??this[t]),o!==!0||r!==void 0)||(this._$AL.has(t)||(this.hasUpdated||s||(e=void 0),this._$AL.set(t,e)),i===!0&&this._$Em!==t&&(this._$Eq??=new Set).add(t))}async _$EP(){this.isUpdatePending=!0;try{await this._$ES}catch(e){Promise.reject(e)}let t=this.scheduleUpdate();return t!=null&&await t,!this.isUpdatePending}scheduleUpdate(){return this.performUpdate()}performUpdate(){if(!this.isUpdatePending)return;if(!this.hasUpdated){if(this.renderRoot??=this.createRenderRoot(),this._$Ep){for(let[i,o]of this._$Ep)this[i]=o;this._$Ep=void 0}let s=this.constructor.elementProperties;if(s.size>0)for(let[i,o]of s){let{wrapped:r}=o,l=this[i];r!==!0||this._$AL.has(i)||l===void 0||this.C(i,void 0,o,l)}}let t=!1,e=this._$AL;try{t=this.shouldUpdate(e),t?(this.willUpdate(e),this._$EO?.forEach(s=>s.hostUpdate?.()),this.update(e)):this._$EM()}catch(s){throw t=!1,this._$EM(),s}t&&this._$AE(e)}willUpdate(t){}_$AE(t){this._$EO?.forEach(e=>e.hostUpdated?.()),this.hasUpdated||(this.hasUpdated=!0,this.firstUpdated(t)),this.updated(t)}_$EM(){this._$AL=new Map,this.isUpdatePending=!1}get updateComplete(){return this.getUpdateComplete()}getUpdateComplete(){return this._$ES}shouldUpdate(t){return!0}update(t){this._$Eq&&=this._$Eq.forEach(e=>this._$ET(e,this[e])),this._$EM()}updated(t){}firstUpdated(t){}};g.elementStyles=[],g.shadowRootOptions={mode:"open"},g[R("elementProperties")]=new Map,g[R("finalized")]=new Map,Ot?.({ReactiveElement:g}),(L.reactiveElementVersions??=[]).push("2.1.2");var Q=globalThis,ct=n=>n,D=Q.trustedTypes,dt=D?D.createPolicy("lit-html",{createHTML:n=>n}):void 0,gt="$lit$",_=`lit$${Math.random().toFixed(9).slice(2)}$`,_t="?"+_,Tt=`<${_t}>`,y=document,U=()=>y.createComment(""),O=n=>n===null||typeof n!="object"&&typeof n!="function",Z=Array.isArray,Ht=n=>Z(n)||typeof n?.[Symbol.iterator]=="function",V=`[ 	
\f\r]`,P=/<(?:(!--|\/[^a-zA-Z])|(\/?[a-zA-Z][^>\s]*)|(\/?$))/g,ht=/-->/g,ut=/>/g,v=RegExp(`>|${V}(?:([^\\s"'>=/]+)(${V}*=${V}*(?:[^ 	
\f\r"'\`<>=]|("|')|))|$)`,"g"),pt=/'/g,ft=/"/g,$t=/^(?:script|style|textarea|title)$/i,X=n=>(t,...e)=>({_$litType$:n,strings:t,values:e}),m=X(1),Wt=X(2),Kt=X(3),A=Symbol.for("lit-noChange"),h=Symbol.for("lit-nothing"),mt=new WeakMap,b=y.createTreeWalker(y,129);function vt(n,t){if(!Z(n)||!n.hasOwnProperty("raw"))throw Error("invalid template strings array");return dt!==void 0?dt.createHTML(t):t}var Nt=(n,t)=>{let e=n.length-1,s=[],i,o=t===2?"<svg>":t===3?"<math>":"",r=P;for(let l=0;l<e;l++){let a=n[l],d,u,c=-1,p=0;for(;p<a.length&&(r.lastIndex=p,u=r.exec(a),u!==null);)p=r.lastIndex,r===P?u[1]==="!--"?r=ht:u[1]!==void 0?r=ut:u[2]!==void 0?($t.test(u[2])&&(i=RegExp("</"+u[2],"g")),r=v):u[3]!==void 0&&(r=v):r===v?u[0]===">"?(r=i??P,c=-1):u[1]===void 0?c=-2:(c=r.lastIndex-u[2].length,d=u[1],r=u[3]===void 0?v:u[3]==='"'?ft:pt):r===ft||r===pt?r=v:r===ht||r===ut?r=P:(r=v,i=void 0);let f=r===v&&n[l+1].startsWith("/>")?" ":"";o+=r===P?a+Tt:c>=0?(s.push(d),a.slice(0,c)+gt+a.slice(c)+_+f):a+_+(c===-2?l:f)}return[vt(n,o+(n[e]||"<?>")+(t===2?"</svg>":t===3?"</math>":"")),s]},T=class n{constructor({strings:t,_$litType$:e},s){let i;this.parts=[];let o=0,r=0,l=t.length-1,a=this.parts,[d,u]=Nt(t,e);if(this.el=n.createElement(d,s),b.currentNode=this.el.content,e===2||e===3){let c=this.el.content.firstChild;c.replaceWith(...c.childNodes)}for(;(i=b.nextNode())!==null&&a.length<l;){if(i.nodeType===1){if(i.hasAttributes())for(let c of i.getAttributeNames())if(c.endsWith(gt)){let p=u[r++],f=i.getAttribute(c).split(_),w=/([.?@])?(.*)/.exec(p);a.push({type:1,index:o,name:w[2],strings:f,ctor:w[1]==="."?K:w[1]==="?"?F:w[1]==="@"?J:S}),i.removeAttribute(c)}else c.startsWith(_)&&(a.push({type:6,index:o}),i.removeAttribute(c));if($t.test(i.tagName)){let c=i.textContent.split(_),p=c.length-1;if(p>0){i.textContent=D?D.emptyScript:"";for(let f=0;f<p;f++)i.append(c[f],U()),b.nextNode(),a.push({type:2,index:++o});i.append(c[p],U())}}}else if(i.nodeType===8)if(i.data===_t)a.push({type:2,index:o});else{let c=-1;for(;(c=i.data.indexOf(_,c+1))!==-1;)a.push({type:7,index:o}),c+=_.length-1}o++}}static createElement(t,e){let s=y.createElement("template");return s.innerHTML=t,s}};function x(n,t,e=n,s){if(t===A)return t;let i=s!==void 0?e._$Co?.[s]:e._$Cl,o=O(t)?void 0:t._$litDirective$;return i?.constructor!==o&&(i?._$AO?.(!1),o===void 0?i=void 0:(i=new o(n),i._$AT(n,e,s)),s!==void 0?(e._$Co??=[])[s]=i:e._$Cl=i),i!==void 0&&(t=x(n,i._$AS(n,t.values),i,s)),t}var W=class{constructor(t,e){this._$AV=[],this._$AN=void 0,this._$AD=t,this._$AM=e}get parentNode(){return this._$AM.parentNode}get _$AU(){return this._$AM._$AU}u(t){let{el:{content:e},parts:s}=this._$AD,i=(t?.creationScope??y).importNode(e,!0);b.currentNode=i;let o=b.nextNode(),r=0,l=0,a=s[0];for(;a!==void 0;){if(r===a.index){let d;a.type===2?d=new H(o,o.nextSibling,this,t):a.type===1?d=new a.ctor(o,a.name,a.strings,this,t):a.type===6&&(d=new Y(o,this,t)),this._$AV.push(d),a=s[++l]}r!==a?.index&&(o=b.nextNode(),r++)}return b.currentNode=y,i}p(t){let e=0;for(let s of this._$AV)s!==void 0&&(s.strings!==void 0?(s._$AI(t,s,e),e+=s.strings.length-2):s._$AI(t[e])),e++}},H=class n{get _$AU(){return this._$AM?._$AU??this._$Cv}constructor(t,e,s,i){this.type=2,this._$AH=h,this._$AN=void 0,this._$AA=t,this._$AB=e,this._$AM=s,this.options=i,this._$Cv=i?.isConnected??!0}get parentNode(){let t=this._$AA.parentNode,e=this._$AM;return e!==void 0&&t?.nodeType===11&&(t=e.parentNode),t}get startNode(){return this._$AA}get endNode(){return this._$AB}_$AI(t,e=this){t=x(this,t,e),O(t)?t===h||t==null||t===""?(this._$AH!==h&&this._$AR(),this._$AH=h):t!==this._$AH&&t!==A&&this._(t):t._$litType$!==void 0?this.$(t):t.nodeType!==void 0?this.T(t):Ht(t)?this.k(t):this._(t)}O(t){return this._$AA.parentNode.insertBefore(t,this._$AB)}T(t){this._$AH!==t&&(this._$AR(),this._$AH=this.O(t))}_(t){this._$AH!==h&&O(this._$AH)?this._$AA.nextSibling.data=t:this.T(y.createTextNode(t)),this._$AH=t}$(t){let{values:e,_$litType$:s}=t,i=typeof s=="number"?this._$AC(t):(s.el===void 0&&(s.el=T.createElement(vt(s.h,s.h[0]),this.options)),s);if(this._$AH?._$AD===i)this._$AH.p(e);else{let o=new W(i,this),r=o.u(this.options);o.p(e),this.T(r),this._$AH=o}}_$AC(t){let e=mt.get(t.strings);return e===void 0&&mt.set(t.strings,e=new T(t)),e}k(t){Z(this._$AH)||(this._$AH=[],this._$AR());let e=this._$AH,s,i=0;for(let o of t)i===e.length?e.push(s=new n(this.O(U()),this.O(U()),this,this.options)):s=e[i],s._$AI(o),i++;i<e.length&&(this._$AR(s&&s._$AB.nextSibling,i),e.length=i)}_$AR(t=this._$AA.nextSibling,e){for(this._$AP?.(!1,!0,e);t!==this._$AB;){let s=ct(t).nextSibling;ct(t).remove(),t=s}}setConnected(t){this._$AM===void 0&&(this._$Cv=t,this._$AP?.(t))}},S=class{get tagName(){return this.element.tagName}get _$AU(){return this._$AM._$AU}constructor(t,e,s,i,o){this.type=1,this._$AH=h,this._$AN=void 0,this.element=t,this.name=e,this._$AM=i,this.options=o,s.length>2||s[0]!==""||s[1]!==""?(this._$AH=Array(s.length-1).fill(new String),this.strings=s):this._$AH=h}_$AI(t,e=this,s,i){let o=this.strings,r=!1;if(o===void 0)t=x(this,t,e,0),r=!O(t)||t!==this._$AH&&t!==A,r&&(this._$AH=t);else{let l=t,a,d;for(t=o[0],a=0;a<o.length-1;a++)d=x(this,l[s+a],e,a),d===A&&(d=this._$AH[a]),r||=!O(d)||d!==this._$AH[a],d===h?t=h:t!==h&&(t+=(d??"")+o[a+1]),this._$AH[a]=d}r&&!i&&this.j(t)}j(t){t===h?this.element.removeAttribute(this.name):this.element.setAttribute(this.name,t??"")}},K=class extends S{constructor(){super(...arguments),this.type=3}j(t){this.element[this.name]=t===h?void 0:t}},F=class extends S{constructor(){super(...arguments),this.type=4}j(t){this.element.toggleAttribute(this.name,!!t&&t!==h)}},J=class extends S{constructor(t,e,s,i,o){super(t,e,s,i,o),this.type=5}_$AI(t,e=this){if((t=x(this,t,e,0)??h)===A)return;let s=this._$AH,i=t===h&&s!==h||t.capture!==s.capture||t.once!==s.once||t.passive!==s.passive,o=t!==h&&(s===h||i);i&&this.element.removeEventListener(this.name,this,s),o&&this.element.addEventListener(this.name,this,t),this._$AH=t}handleEvent(t){typeof this._$AH=="function"?this._$AH.call(this.options?.host??this.element,t):this._$AH.handleEvent(t)}},Y=class{constructor(t,e,s){this.element=t,this.type=6,this._$AN=void 0,this._$AM=e,this.options=s}get _$AU(){return this._$AM._$AU}_$AI(t){x(this,t)}};var Mt=Q.litHtmlPolyfillSupport;Mt?.(T,H),(Q.litHtmlVersions??=[]).push("3.3.3");var bt=(n,t,e)=>{let s=e?.renderBefore??t,i=s._$litPart$;if(i===void 0){let o=e?.renderBefore??null;s._$litPart$=i=new H(t.insertBefore(U(),o),o,void 0,e??{})}return i._$AI(n),i};var tt=globalThis,$=class extends g{constructor(){super(...arguments),this.renderOptions={host:this},this._$Do=void 0}createRenderRoot(){let t=super.createRenderRoot();return this.renderOptions.renderBefore??=t.firstChild,t}update(t){let e=this.render();this.hasUpdated||(this.renderOptions.isConnected=this.isConnected),super.update(t),this._$Do=bt(e,this.renderRoot,this.renderOptions)}connectedCallback(){super.connectedCallback(),this._$Do?.setConnected(!0)}disconnectedCallback(){super.disconnectedCallback(),this._$Do?.setConnected(!1)}render(){return A}};$._$litElement$=!0,$.finalized=!0,tt.litElementHydrateSupport?.({LitElement:$});var Lt=tt.litElementPolyfillSupport;Lt?.({LitElement:$});(tt.litElementVersions??=[]).push("4.2.2");var Dt=[["status",/^sensor\..+_backup_status(_\d+)?$/],["problem",/^binary_sensor\..+_backup_problem(_\d+)?$/],["last_backup",/^sensor\..+_last_backup(_\d+)?$/],["last_offsite",/^sensor\..+_last_off_?site(_copy)?(_\d+)?$/],["last_verified",/^sensor\..+_last_verified(_\d+)?$/],["tier",/^select\..+_backup_tier(_\d+)?$/],["running",/^binary_sensor\..+_backup_running(_\d+)?$/],["progress",/^sensor\..+_backup_progress(_\d+)?$/],["back_up_now",/^button\..+_back_up_now(_\d+)?$/]],yt={failed:0,missing:1,stale:2,unknown:3,unavailable:3,running:4,ok:5},E=n=>n&&n.state!=="unknown"&&n.state!=="unavailable"&&n.state!==""?n.state:null;function Bt(n){let t=n===null?NaN:Number(n);return Number.isFinite(t)&&t>=0&&t<=100?Math.round(t):null}function It(n){for(let[t,e]of n.identifiers??[])if(t==="mqtt"&&e.startsWith("backup2mqtt_")&&!e.endsWith("_bridge"))return e.slice(12);return null}function At(n,t={}){let e=new Map;for(let r of Object.values(n.entities)){if(!r.device_id||r.platform&&r.platform!=="mqtt")continue;let l=Dt.find(([,d])=>d.test(r.entity_id))?.[0];if(!l)continue;let a=e.get(r.device_id)??{};a[l]??=r.entity_id,e.set(r.device_id,a)}let s=t.guests?.length?new Set(t.guests.map(r=>r.toLowerCase())):null,i=[];for(let[r,l]of e){if(!l.status)continue;let a=n.devices[r];if(!a)continue;let d=It(a);if(a.identifiers&&a.identifiers.length>0&&d===null)continue;let u=a.name_by_user||a.name||d||r;if(s&&![u,d??"",r].some(xt=>s.has(xt.toLowerCase())))continue;let c=n.states[l.status],p=c?.state==="unavailable"?"unavailable":E(c)??"unknown",f=l.problem?n.states[l.problem]:void 0,w=Array.isArray(f?.attributes.reasons)?f.attributes.reasons.map(String):[],st=(l.running?n.states[l.running]?.state==="on":!1)||p==="running";i.push({deviceId:r,guestId:d,name:u,tier:l.tier?E(n.states[l.tier]):null,status:p,problem:f?.state==="on",reasons:w,lastBackup:l.last_backup?E(n.states[l.last_backup]):null,lastOffsite:l.last_offsite?E(n.states[l.last_offsite]):null,lastVerified:l.last_verified?E(n.states[l.last_verified]):null,running:st,progress:st?Bt(l.progress?E(n.states[l.progress]):null):null,entities:l})}let o=t.show_ok===!1?i.filter(r=>r.problem||r.status!=="ok"):i;return jt(o)}function jt(n){return[...n].sort((t,e)=>Number(e.problem)-Number(t.problem)||yt[t.status]-yt[e.status]||t.name.localeCompare(e.name))}function B(n,t=Date.now()){if(!n)return"\u2014";let e=Date.parse(n);if(Number.isNaN(e))return"\u2014";let s=Math.max(0,Math.round((t-e)/1e3));return s<60?"now":s<3600?`${Math.floor(s/60)} min`:s<48*3600?`${Math.floor(s/3600)} h`:`${Math.floor(s/86400)} d`}var et={ok:"OK",stale:"Stale",failed:"Failed",missing:"Missing",running:"Running",unknown:"Unknown",unavailable:"Unavailable"};function wt(n){if(!n||typeof n!="object")throw new Error("backup2mqtt-card: the configuration must be an object");let t=n;if(t.title!==void 0&&typeof t.title!="string")throw new Error("backup2mqtt-card: title must be text");if(t.show_ok!==void 0&&typeof t.show_ok!="boolean")throw new Error("backup2mqtt-card: show_ok must be true or false");if(t.compact!==void 0&&typeof t.compact!="boolean")throw new Error("backup2mqtt-card: compact must be true or false");if(t.guests!==void 0&&!(Array.isArray(t.guests)&&t.guests.every(e=>typeof e=="string")))throw new Error("backup2mqtt-card: guests must be a list of guest names");return t}var I="backup2mqtt-card",k=class extends ${constructor(){super(...arguments);this._config={};this._pressed=new Set;this._rows=[]}static getConfigForm(){return{schema:[{name:"title",selector:{text:{}}},{name:"show_ok",selector:{boolean:{}}},{name:"compact",selector:{boolean:{}}},{name:"guests",selector:{text:{multiple:!0}}}],computeLabel:e=>({title:"Title",show_ok:"Show guests that are OK",compact:"Compact (hide off-site and verified)",guests:"Only these guests (names)"})[e.name]??e.name,computeHelper:e=>e.name==="guests"?"Empty: every guest of every backup2mqtt bridge":void 0}}static getStubConfig(){return{title:"Backups",show_ok:!0}}setConfig(e){this._config={show_ok:!0,...wt(e)}}getCardSize(){return 1+Math.max(1,this._rows.length)}getGridOptions(){return{columns:12,min_columns:6,rows:"auto",min_rows:2}}willUpdate(e){(e.has("hass")||e.has("_config"))&&this.hass&&(this._rows=At(this.hass,this._config))}async _backUp(e){let s=e.entities.back_up_now;if(!(!s||!this.hass)){this._pressed=new Set(this._pressed).add(e.deviceId);try{await this.hass.callService("button","press",{entity_id:s})}finally{setTimeout(()=>{let i=new Set(this._pressed);i.delete(e.deviceId),this._pressed=i},3e3)}}}_row(e,s){let i=this._config.compact===!0,o=e.running||this._pressed.has(e.deviceId),r=e.reasons.length?e.reasons.join(`
`):et[e.status];return m`
      <div class="row ${e.problem?"problem":""}" data-guest=${e.name}>
        <div class="name" title=${e.guestId??e.name}>${e.name}</div>
        <div class="tier">${e.tier?m`<span class="tier-chip">${e.tier}</span>`:m`<span class="muted">—</span>`}</div>
        <div class="status"><span class="chip ${e.status}" title=${r}>${et[e.status]}${e.status==="running"&&e.progress!==null?` ${e.progress}%`:""}</span></div>
        <div class="age" title=${e.lastBackup??"never"}>${B(e.lastBackup,s)}</div>
        ${i?h:m`<div class="offsite" title=${e.lastOffsite??"no off-site copy known"}>${B(e.lastOffsite,s)}</div>
              <div class="verified" title=${e.lastVerified??"never verified"}>${B(e.lastVerified,s)}</div>`}
        <div class="action">
          ${e.entities.back_up_now?m`<button class="run" ?disabled=${o} @click=${()=>this._backUp(e)} title="Back up ${e.name} now">
                ${o?"Running\u2026":"Back up"}
              </button>`:h}
        </div>
        ${e.problem&&e.reasons.length?m`<div class="reasons">${e.reasons.join(" \xB7 ")}</div>`:h}
      </div>
    `}render(){let e=this._rows,s=Date.now(),i=e.filter(r=>r.problem).length,o=this._config.compact===!0;return m`
      <ha-card>
        <div class="header">
          <span class="title">${this._config.title??"Backups"}</span>
          <span class="summary ${i?"bad":"good"}">${i?`${i} need attention`:e.length?"All OK":""}</span>
        </div>
        ${e.length===0?m`<div class="empty">No backup2mqtt guests found. Is the bridge running and MQTT discovery on?</div>`:m`<div class="table ${o?"compact":""}">
              <div class="row head">
                <div>Guest</div><div>Tier</div><div>Status</div><div>Last</div>
                ${o?h:m`<div>Off-site</div><div>Verified</div>`}<div></div>
              </div>
              ${e.map(r=>this._row(r,s))}
            </div>`}
      </ha-card>
    `}};k.properties={hass:{attribute:!1},_config:{state:!0},_pressed:{state:!0}},k.styles=q`
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
  `;customElements.get(I)||(customElements.define(I,k),window.customCards=window.customCards||[],window.customCards.push({type:I,name:"backup2mqtt",description:"Backup state of every Proxmox guest (tier, status, age, off-site, verified), problems first, with a Back up button.",preview:!0,documentationURL:"https://github.com/backup2mqtt/backup2mqtt/tree/main/ha-integration"}));export{k as Backup2MqttCard};
