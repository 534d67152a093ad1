/**
 * Role-based access from the token's roles, MFA step-up, and verified addresses. The route's
 * policy names the roles that may call it, those that may only with a multi-factor sign-in, and
 * whether an account with an unverified address may (`allowUnverified`; by default it may not).
 * The handler then sees only the roles this request may act with: an admin who has not stepped
 * up acts as a plain user where the route demands MFA of admins.
 */
import type { Middleware } from './context.ts';
import { ApiError } from '../errors/api-error.ts';
import type { Principal } from './inputs.ts';
import { isPublic, type Access } from './route.ts';

type Granting = Exclude<Access, { public: true }>;

/** Whether this sign-in may act with `role`, a role the route grants: with MFA any, without only one it does not ask MFA of. */
function mfaPermits(access: Granting, principal: Principal, role: Principal['roles'][number]): boolean {
  return principal.mfa || !access.mfa?.includes(role);
}

export function authorize(): Middleware {
  return (ctx, next) => {
    const access = ctx.route!.access;
    if (isPublic(access)) return next();
    const principal = ctx.principal!;
    // Counted, not filtered: the usual request (every role granted and usable) makes no arrays.
    let granted = 0;
    let usableRoles = 0;
    for (const role of principal.roles) {
      if (!access.roles.includes(role)) continue;
      granted += 1;
      if (mfaPermits(access, principal, role)) usableRoles += 1;
    }
    if (granted === 0) throw new ApiError('forbidden', { params: { action: 'this' } });
    if (usableRoles === 0) throw new ApiError('mfa_required');
    if (!principal.emailVerified && access.allowUnverified !== true) throw new ApiError('email_not_verified');
    // Principals are never changed in place: one whose every role is usable stays as it is.
    if (usableRoles !== principal.roles.length)
      ctx.principal = { ...principal, roles: principal.roles.filter((role) => access.roles.includes(role) && mfaPermits(access, principal, role)) };
    return next();
  };
}
