/**
 * Role-based access from the token's roles, MFA step-up, and verified addresses. The route's
 * policy names the roles that may call it, those that may only with a multi-factor sign-in, and
 * whether an account with an unverified address may (`allowUnverified`; by default it may not).
 * The handler then sees only the roles this request may act with: an admin who has not stepped
 * up acts as a plain user where the route demands MFA of admins.
 */
import type { Middleware } from './context.ts';
import { ApiError } from '../errors/api-error.ts';
import { isPublic } from './route.ts';

export function authorize(): Middleware {
  return (ctx, next) => {
    const access = ctx.route!.access;
    if (isPublic(access)) return next();
    const principal = ctx.principal!;
    const granted = principal.roles.filter((role) => access.roles.includes(role));
    if (granted.length === 0) throw new ApiError('forbidden', { params: { action: 'this' } });
    const usable = granted.filter((role) => principal.mfa || !access.mfa?.includes(role));
    if (usable.length === 0) throw new ApiError('mfa_required');
    if (!principal.emailVerified && access.allowUnverified !== true) throw new ApiError('email_not_verified');
    // Principals are never changed in place: one whose every role is usable stays as it is.
    if (usable.length !== principal.roles.length) ctx.principal = { ...principal, roles: usable };
    return next();
  };
}
